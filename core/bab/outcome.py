"""What one branch-and-bound search over one disjunct ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from core.bab.tree import ProofTree

# Takes candidate inputs [k, n]; returns True once one of them is a confirmed counterexample.
TryCounterexample = Callable[[torch.Tensor], bool]


@dataclass
class Outcome:
    """`status`: "unsat" (every domain closed), "sat" (a confirmed counterexample) or
    "unknown" (domains left that cannot be split further, or memory ran out)."""

    status: str
    tree: ProofTree
    domains_visited: int = 0
    lower_bound: float | None = None
    stats: dict = field(default_factory=dict)
