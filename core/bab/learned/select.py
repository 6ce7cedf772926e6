"""Model selection on solving time (the Lookback paper's framework): a candidate model
is run as the brancher on validation properties and scored by the seconds its
searches take, a search that does not finish counting its whole timeout."""

from __future__ import annotations

from core.bab.learned.brancher import GnnChooser
from core.bab.learned.data import run_searches
from core.bab.learned.gnn import BranchGNN


def validation_seconds(model: BranchGNN, instances: list[tuple[object, object]], threshold: float,
                       timeout_s: float = 20.0) -> float:
    """Total search seconds over `instances` (network, Property) with `model` branching."""
    make = lambda graph, net, target: GnnChooser(model, threshold, graph, target.C, net)  # noqa: E731
    total = 0.0
    for network, prop in instances:
        for _, _, status, seconds in run_searches(network, prop, make, None, timeout_s):
            total += seconds if status in ("unsat", "sat") else timeout_s
    return total
