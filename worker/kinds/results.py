"""What every kind's result needs: plain JSON."""

from __future__ import annotations

import json
from typing import Any


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types: NumPy arrays and scalars become lists and numbers."""

    def fallback(obj: Any) -> Any:
        return obj.tolist() if hasattr(obj, "tolist") else str(obj)

    return json.loads(json.dumps(value, default=fallback))


