"""The branch-and-bound search a configuration asks for, wired to one disjunct."""

from __future__ import annotations

import torch

from core.attack.pgd import margins, pgd
from core.bab.bounding import InputSplitBounder
from core.bab.budget import Budget
from core.bab.input_split import InputSplitSearch
from core.bab.outcome import TryCounterexample
from core.bab.relu_split import ReluSplitSearch
from core.config import VerifyConfig
from core.model.ir import Graph

# PGD inside the worst boxes of an input split: cheap, it runs every few steps.
BOX_ATTACK_RESTARTS, BOX_ATTACK_STEPS = 4, 20


def make_search(graph: Graph, C: torch.Tensor, d: torch.Tensor, config: VerifyConfig,
                try_counterexample: TryCounterexample, budget: Budget, margin: float,
                generator: torch.Generator | None = None) -> InputSplitSearch | ReluSplitSearch | None:
    """A search over disjunct C [1, r, m], d [1, r] for a resolved `config` (None: branching is off)."""
    cap = None if config.memory_cap_mb is None else config.memory_cap_mb * 2**20
    generator = generator or torch.Generator().manual_seed(config.seed)

    def point_margin(x: torch.Tensor) -> torch.Tensor:
        return margins(graph.forward(x).flatten(1), C.expand(len(x), -1, -1), d.expand(len(x), -1))

    def attack(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        B = len(lower)
        return pgd(graph, lower, upper, C.expand(B, -1, -1), d.expand(B, -1), BOX_ATTACK_RESTARTS,
                   BOX_ATTACK_STEPS, generator, budget.deadline).x

    if config.branching == "input":
        return InputSplitSearch(InputSplitBounder(graph, C, d), point_margin, attack, try_counterexample, budget,
                                margin, config.batch_size, cap)
    if config.branching == "relu":
        return ReluSplitSearch(graph, C, d, config, point_margin, try_counterexample, budget, margin, cap)
    return None
