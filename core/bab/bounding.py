"""Branch and bound's view of the bounding engine (`core.bounds.bound`).

Two needs beyond a plain bound call: warm-start state stored batch-first (so the domain
pool can keep it as rows), and for input splitting a CROWN bound that is differentiable
in the input box (the split heuristic reads its gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bounds import AlphaState, BoundOptions, Domains, bound
from core.bounds.crown import backward_bound, crown_refiner, spec_coefficients
from core.bounds.ibp import interval_pass, linear_of_box
from core.bounds.memory import budget_bytes
from core.bounds.plan import plan_for
from core.model.ir import Graph, Interval
from core.model.ops.relu import Relu


@dataclass
class DomainBounds:
    """Lower bounds `lb` [B, r] of C·y − d; pre-activation bounds per ReLU node `pre[name]`
    [B, *shape]; α/β state per node, batch first, [B, r, ...] (None unless optimised);
    lower-bound coefficients at each ReLU output [B, *shape] (None when not computed)."""

    lb: torch.Tensor
    pre: dict[str, Interval]
    warm: dict[str, torch.Tensor] | None = None
    coefficients: dict[str, torch.Tensor] | None = None


def relu_layout(graph: Graph) -> list[tuple[str, int, int]]:
    """(ReLU node name, offset, size) for every ReLU node, offsets into one concatenated row."""
    layout, offset = [], 0
    for node in graph.nodes:
        if isinstance(node.op, Relu) or type(node.op).__name__ == "BetaRelu":
            size = int(torch.Size(node.shape).numel())
            layout.append((node.name, offset, size))
            offset += size
    return layout


def bound_domains(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, C: torch.Tensor, d: torch.Tensor,
                  method: str, splits: dict[str, torch.Tensor] | None = None,
                  warm: dict[str, torch.Tensor] | None = None, alpha_iterations: int = 20) -> DomainBounds:
    """Bound boxes lower/upper [B, n] (and splits) against C [B or 1, r, m], d [B or 1, r]."""
    B = lower.shape[0]
    domains = Domains(lower.reshape(B, *graph.input_shape), upper.reshape(B, *graph.input_shape), splits or {})
    state = None if warm is None else AlphaState({k: v.transpose(0, 1) for k, v in warm.items()})
    result = bound(graph, domains, C, d, method, BoundOptions(alpha_iterations=alpha_iterations), state)
    out_warm = None
    if result.warm_start is not None:
        out_warm = {k: v.transpose(0, 1) for k, v in result.warm_start.alphas.items()}
    return DomainBounds(result.lower, result.intermediate, out_warm)


def differentiable_crown(graph: Graph, C: torch.Tensor, d: torch.Tensor):
    """A function (lower, upper) [B, n] -> CROWN lower bounds [B, r] whose gradient in the
    box is |coefficient| per input (intermediate bounds are computed without gradients)."""
    plan = plan_for(graph)

    def lower_bounds(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        B = lower.shape[0]
        with torch.no_grad():
            domains = Domains(lower.detach().reshape(B, *graph.input_shape),
                              upper.detach().reshape(B, *graph.input_shape))
            boxes, _ = interval_pass(plan, domains, crown_refiner(plan, budget_bytes(lower.device, None)))
        boxes[graph.input_name] = Interval(lower.reshape(B, *graph.input_shape), upper.reshape(B, *graph.input_shape))
        A = spec_coefficients(C, B, graph.output_shape)
        lb = backward_bound(plan, graph.output_name, A, boxes).T - d
        return torch.maximum(lb, linear_of_box(boxes[graph.output_name], C, d).detach())

    return lower_bounds
