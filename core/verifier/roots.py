"""A region's root boxes for ReLU splitting, tightened once by α-CROWN on every
intermediate bound, with the slopes a certificate needs to re-derive them.

The boxes depend only on the region's input box, not on the disjunct, so every target of
the region shares them: branch and bound starts from them (children inherit them, clamped
at their splits), and the certificate carries the slopes once per region
(`root_slopes`, docs/certificate.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.bab.bounding import ReluRows
from core.bounds.domains import Domains
from core.bounds.intermediate_alpha import optimised_boxes
from core.bounds.plan import plan_for
from core.model.ir import Graph


@dataclass
class RootBoxes:
    """`rows` [1, N]: the root's ReLU input bounds (`ReluRows`); `slopes[relu][earlier]`
    [2 n, m]: the lower slopes of ReLU layer `earlier` that bound `relu`'s input (NaN: the
    adaptive slope), as a certificate stores them."""

    rows: ReluRows
    slopes: dict[str, dict[str, np.ndarray]]


def tighten_root(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, iterations: int,
                 interrupt: Callable[[], None] | None = None) -> RootBoxes:
    """The root boxes of the box lower/upper [n] with α-CROWN intermediate bounds
    (`iterations` Adam steps per layer); `interrupt` may raise between steps."""
    plan = plan_for(graph)
    domains = Domains(lower.reshape(1, *graph.input_shape), upper.reshape(1, *graph.input_shape))
    found = optimised_boxes(plan, domains, iterations, interrupt=interrupt)
    rows = ReluRows.of(graph, {node.name: found.boxes[node.inputs[0]] for node in plan.nonlinear})
    slopes = {relu: {earlier: v[0].cpu().numpy() for earlier, v in per.items()} for relu, per in found.slopes.items()}
    return RootBoxes(rows, slopes)
