"""What a verification run reports: verdicts, progress events, results (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

import numpy as np


class Verdict(str, Enum):
    SAT = "sat"          # a counterexample exists and onnxruntime confirmed it
    UNSAT = "unsat"      # the property holds: no input reaches the unsafe set
    UNKNOWN = "unknown"  # the budget-independent methods gave up
    TIMEOUT = "timeout"  # the wall-clock budget ran out
    ERROR = "error"      # the inputs could not be processed


@dataclass(frozen=True)
class Progress:
    """One progress report; sent at least once a second while the verifier runs."""

    phase: str                 # "attack", "incomplete", "bab", "lemmas", "done"
    domains_visited: int = 0
    domains_open: int = 0
    lower_bound: float | None = None   # current global lower bound (> 0 means proven)
    elapsed_s: float = 0.0


# Called with each report; returning True asks the verifier to stop (cancellation).
ProgressCallback = Callable[[Progress], bool | None]


@dataclass(frozen=True)
class Counterexample:
    """An input in the property's box whose output, replayed in onnxruntime, is unsafe."""

    x: np.ndarray   # flattened input, float64
    y: np.ndarray   # flattened onnxruntime output, float64


@dataclass
class VerifyResult:
    verdict: Verdict
    counterexample: Counterexample | None = None
    certificate: Any = None
    elapsed_s: float = 0.0
    domains_visited: int = 0
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    lower_bound: float | None = None  # the run's final global lower bound (None before any was found)
    # per (region, disjunct) of the property: {"region", "disjunct", "status": "unsat" (no
    # input reaches it), "sat" (the counterexample does) or "open", "lower_bound", "closed_by"}
    targets: list[dict[str, Any]] = field(default_factory=list)
