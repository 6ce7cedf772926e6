"""A second, longer attack on the targets the incomplete bounds leave open, within a time cap.

The first attack (`core.attack.pgd`, before any bounding) is sized by the network alone, so
that easy instances reach their proof at once. What CROWN and α-CROWN cannot close is where
a counterexample may hide, so those targets (and only those) get rounds of PGD that differ
from the first one — momentum (MI-FGSM) and plain sign steps alternating, each round with
twice the steps of the one before — with restarts sized from the measured speed of the
previous round so that each round fits in what is left of the cap. Fresh restarts come from
the shared generator, so no round repeats another's starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from core.attack.pgd import AttackResult, pgd
from core.model.ir import Graph

MOMENTUM = 0.9  # MI-FGSM's decay, as in its paper and OVAL's attack configuration
GROWTH = 4  # a round has at most this many times the first attack's restarts: large networks' batches must fit in memory
MIN_ROUND_S = 0.05  # a round expected to take less than this is not worth starting


@dataclass(frozen=True)
class Round:
    """One PGD run of the portfolio: momentum μ (0: plain sign steps) and steps per restart."""

    momentum: float
    steps: int


def rounds(first_steps: int) -> list[Round]:
    """The schedule: momentum first (the first attack had none), then alternating, the steps
    doubling every two rounds so that later restarts settle on thinner unsafe sets."""
    out = []
    for i in range(8):
        out.append(Round(MOMENTUM if i % 2 == 0 else 0.0, first_steps * 2 ** (i // 2 + 1)))
    return out


def attack_open_targets(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, C: torch.Tensor, d: torch.Tensor,
                        seconds: float, restarts: int, steps: int, generator: torch.Generator,
                        found: Callable[[AttackResult], bool], stop: Callable[[], bool] | None = None) -> bool:
    """Rounds of PGD on boxes [K, n] against disjuncts C [K, r, m], d [K, r] for at most
    `seconds`; `restarts` and `steps` are the first attack's (the first round's size). Returns
    True as soon as `found(result)` confirms a counterexample of some round."""
    deadline = time.monotonic() + seconds
    K = lower.shape[0]
    cost_per_restart_step = None  # seconds, measured on the last round
    first_restarts = restarts

    def out_of_time() -> bool:
        return time.monotonic() > deadline or (stop is not None and stop())

    for round_ in rounds(steps):
        left = deadline - time.monotonic()
        if cost_per_restart_step is not None:
            # half of what is left: the rounds after it get the other half
            restarts = int(min(GROWTH * first_restarts, max(1, left / 2 / (cost_per_restart_step * round_.steps * K))))
        if left < MIN_ROUND_S or out_of_time():
            return False
        start = time.monotonic()
        result = pgd(graph, lower, upper, C, d, restarts, round_.steps, generator, out_of_time, round_.momentum,
                     any_target=True)
        if found(result):
            return True
        elapsed = time.monotonic() - start
        cost_per_restart_step = max(elapsed, 1e-6) / (restarts * round_.steps * K)
    return False
