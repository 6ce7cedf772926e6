"""What a job kind hands back to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """A verdict, a JSON-able result, and artifacts: the files themselves, keyed by kind
    (`certificate`: the zip; `counterexample`: the VNN-COMP result file)."""

    verdict: str | None
    result: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    status: str = "succeeded"
    error: str | None = None
