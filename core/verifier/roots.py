"""A region's root boxes, tightened once by α-CROWN on every intermediate bound, with the
slopes a certificate needs to re-derive them.

The boxes depend only on the region's input box, not on the disjunct, so every target of
the region shares them: the targets still open after α-CROWN are bounded again over them,
ReLU splitting starts from them (children inherit them, clamped at their splits), and
the certificate carries the slopes once per region (`root_slopes`, docs/certificate.md).
On deep ReLU networks one layer's boxes are narrowed further by lemmas
(`core.verifier.lemmas`) before the later layers are derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from core.bab.bounding import ReluRows, relu_layout
from core.bounds.domains import Domains
from core.bounds.intermediate_alpha import optimised_boxes
from core.bounds.plan import plan_for
from core.model.ir import Graph, Interval
from core.verifier.lemmas import Lemma

# Narrows one activation input's root box: (boxes so far, box) -> (box, the lemmas proving it).
LemmaProver = Callable[[dict[str, Interval], Interval], tuple[Interval, list[Lemma]]]


@dataclass
class RootBoxes:
    """`boxes[tensor]` [1, *shape]: every tensor's box; `slopes[act][earlier]` [2 n, m]: the
    parameters of activation layer `earlier` (ReLU: lower slopes, Sigmoid/Tanh: tangent
    points; NaN: the default) that bound `act`'s input, as a certificate stores them;
    `rows` [1, N]: the ReLU input bounds as ReLU splitting takes them (`ReluRows`; None
    when the network has other activations); `lemmas`: what narrowed the boxes further."""

    boxes: dict[str, Interval]
    slopes: dict[str, dict[str, np.ndarray]]
    rows: ReluRows | None
    lemmas: list[Lemma] = field(default_factory=list)


def tighten_root(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, iterations: int,
                 interrupt: Callable[[], None] | None = None,
                 lemmas: dict[str, LemmaProver] | None = None, deadline: float | None = None) -> RootBoxes:
    """The root boxes of the box lower/upper [n] with α-CROWN intermediate bounds
    (`iterations` Adam steps per layer); `interrupt` may raise between steps.
    `lemmas[tensor]` narrows that tensor's box once α-CROWN has bounded it. Past `deadline`
    (time.monotonic()) the neurons left keep CROWN's bounds."""
    plan = plan_for(graph)
    domains = Domains(lower.reshape(1, *graph.input_shape), upper.reshape(1, *graph.input_shape))
    proven: list[Lemma] = []

    def clamp(name: str, boxes: dict[str, Interval], box: Interval) -> Interval:
        if name not in (lemmas or {}):
            return box
        box, found = lemmas[name](boxes, box)
        proven.extend(found)
        return box

    found = optimised_boxes(plan, domains, iterations, interrupt=interrupt, clamp=clamp if lemmas else None,
                            deadline=deadline)
    rows = None
    if len(relu_layout(graph)) == len(plan.nonlinear):
        rows = ReluRows.of(graph, {node.name: found.boxes[node.inputs[0]] for node in plan.nonlinear})
    slopes = {act: {earlier: v[0].cpu().numpy() for earlier, v in per.items()} for act, per in found.slopes.items()}
    return RootBoxes(found.boxes, slopes, rows, proven)
