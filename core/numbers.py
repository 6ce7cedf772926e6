"""Number types of the engine's configs: what a JSON job config may hold.

Configs arrive from the API as parsed JSON, where `true` would pass for 1, `NaN` and
`Infinity` for floats, and an integer of any size for a count; each of those used to be
accepted and then fail the job (or silently change it). These types refuse them when the
config is built: no bools or numeric strings, finite floats, integers in a range the
engine's tensors and torch's generators take.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Counts (steps, epochs, examples, domains, threads): int32, far beyond any sensible run.
COUNT_MAX = 2**31 - 1
# Seeds: 32 bits, which torch and numpy generators both take and JSON clients keep exactly.
SEED_MAX = 2**32 - 1

Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, le=COUNT_MAX)]
Seed = Annotated[int, Field(strict=True, ge=0, le=SEED_MAX)]
