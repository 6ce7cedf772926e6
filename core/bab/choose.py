"""The branch-and-bound search a configuration asks for, wired to one disjunct."""

from __future__ import annotations

import torch

from core.attack.pgd import margins, pgd
from core.bab.bounding import InputSplitBounder
from core.bab.budget import Budget
from core.bab.input_split import InputSplitSearch
from core.bab.outcome import TryCounterexample
from core.bab.pursuit import LpPursuit
from core.bab.relu_split import ReluSplitSearch
from core.config import VerifyConfig
from core.model.ir import Graph

# PGD inside the worst boxes of an input split: cheap, it runs every few steps.
BOX_ATTACK_RESTARTS, BOX_ATTACK_STEPS = 4, 20


def averaging_weights(r: int, like: torch.Tensor) -> torch.Tensor:
    """[r', r]: the identity, then the average of every pair of rows and of all rows (r' = r when r < 2)."""
    eye = torch.eye(r, dtype=like.dtype, device=like.device)
    if r < 2:
        return eye
    pairs = torch.combinations(torch.arange(r, device=like.device), 2)
    weights = torch.zeros(len(pairs) + 1, r, dtype=like.dtype, device=like.device)
    weights[torch.arange(len(pairs)), pairs[:, 0]] = 0.5
    weights[torch.arange(len(pairs)), pairs[:, 1]] = 0.5
    weights[-1] = 1.0 / r
    return torch.cat([eye, weights])


def with_averaged_rows(C: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """C [1, r, m], d [1, r] combined by `averaging_weights`: the rows, the average of every
    pair of rows and of all rows.

    A disjunct C y <= d is refuted on a box when any nonnegative combination of its rows
    with weights summing to one is provably positive there (then at every x some row is
    positive). Averages prove boxes where the row that is positive changes inside the box
    (near ties between outputs), which single rows cannot do without splitting along the tie.
    """
    if C.shape[1] < 2:
        return C, d
    weights = averaging_weights(C.shape[1], C)
    return weights @ C, d @ weights.T


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
                   BOX_ATTACK_STEPS, generator, budget.stopping).x

    if config.branching == "input":
        bounder = InputSplitBounder(graph, *with_averaged_rows(C, d), interrupt=budget.check)
        pursuit = LpPursuit(graph, C[0], d[0], config.pursuit_share, budget)
        return InputSplitSearch(bounder, point_margin, attack, try_counterexample, budget, margin, config.batch_size, cap,
                                averaging_weights(C.shape[1], C), pursuit)
    if config.branching == "relu":
        return ReluSplitSearch(graph, C, d, config, point_margin, try_counterexample, budget, margin, cap)
    return None
