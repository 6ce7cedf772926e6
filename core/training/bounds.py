"""Differentiable lower bounds on the margins y_true − y_j over an ε-box, from core.bounds.

`margin_matrix` builds the specification C (one row e_true − e_j per class j; the row of
the true class is zero, so its bound is 0). The worst-case logits of the IBP loss are
minus these bounds: cross-entropy of them is the robust cross-entropy of Wong & Kolter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bounds.crown import backward_bound, spec_coefficients
from core.bounds.domains import Domains
from core.bounds.ibp import interval_pass, linear_of_box
from core.bounds.plan import plan_for
from core.model.ir import Graph, Interval
from core.model.ops.linear import Linear


@dataclass(frozen=True)
class MarginBounds:
    """Lower bounds [B, classes] on y_true − y_j, and the IBP box at every nonlinear
    node's input (pre-activation bounds, [B, *shape] each, by node name)."""

    lower: torch.Tensor
    pre_activation: dict[str, Interval]


def margin_matrix(labels: torch.Tensor, classes: int, like: torch.Tensor) -> torch.Tensor:
    """C [B, classes, classes] with row j = e_label − e_j."""
    eye = torch.eye(classes, dtype=like.dtype, device=like.device)
    return eye[labels].unsqueeze(1) - eye.unsqueeze(0)


def input_box(x: torch.Tensor, eps: float | torch.Tensor) -> Interval:
    """The ε-box around images `x` clipped to the valid pixel range [0, 1]."""
    return Interval((x - eps).clamp(0, 1), (x + eps).clamp(0, 1))


def margin_bounds(graph: Graph, box: Interval, labels: torch.Tensor, crown_weight: float = 0.0) -> MarginBounds:
    """β·CROWN-IBP + (1 − β)·IBP bounds on the margins, β = `crown_weight` in [0, 1]."""
    return spec_bounds(graph, box, margin_matrix(labels, graph.output_size, box.lower), crown_weight)


def spec_bounds(graph: Graph, box: Interval, C: torch.Tensor, crown_weight: float = 0.0) -> MarginBounds:
    """β·CROWN-IBP + (1 − β)·IBP lower bounds [B, r] on C [B, r, outputs] times the output.

    IBP multiplies the specification into the last Linear layer before concretising (the
    tighter "elision" of Gowal et al.); CROWN-IBP (Zhang et al., 2020) keeps the IBP boxes
    of every intermediate layer and runs one CROWN backward pass from the specification.
    Both share one interval pass; with β = 0 no backward pass runs.
    """
    plan = plan_for(graph)
    boxes, _ = interval_pass(plan, Domains(box.lower, box.upper))
    last = graph.nodes[-1]
    zero = torch.zeros(C.shape[:2], dtype=C.dtype, device=C.device)
    if isinstance(last.op, Linear) and len(last.shape) == 1:
        weight = C.matmul(last.op.weight)
        offset = zero if last.op.bias is None else -C.matmul(last.op.bias)
        lower = linear_of_box(boxes[last.inputs[0]], weight, offset)
    else:
        lower = linear_of_box(boxes[graph.output_name], C, zero)
    if crown_weight > 0:
        A = spec_coefficients(C, C.shape[0], graph.output_shape)
        crown = backward_bound(plan, graph.output_name, A, boxes).T
        lower = crown_weight * crown + (1 - crown_weight) * lower
    return MarginBounds(lower, {n.inputs[0]: boxes[n.inputs[0]] for n in plan.nonlinear})
