"""Branch and bound's view of the bounding engine (`core.bounds.bound`).

Two needs beyond a plain bound call: warm-start state stored batch-first (so the domain
pool can keep it as rows), and for input splitting a CROWN bound that is differentiable
in the input box (the split heuristic reads its gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from core.bounds import AlphaState, BoundOptions, Domains, bound
from core.bounds.alpha import initial_alphas, optimise
from core.bounds.crown import backward_bound, crown_refiner, spec_coefficients
from core.bounds.ibp import interval_pass, linear_of_box
from core.bounds.memory import budget_bytes
from core.bounds.plan import plan_for
from core.model.ir import Graph, Interval
from core.model.ops.relu import Relu


@dataclass
class DomainBounds:
    """Lower bounds `lb` [B, r] of C·y − d; pre-activation bounds per nonlinear node
    `pre[name]` [B, *shape]; α/β state per node, batch first, [B, r, ...] (None unless optimised)."""

    lb: torch.Tensor
    pre: dict[str, Interval]
    warm: dict[str, torch.Tensor] | None = None


def relu_layout(graph: Graph) -> list[tuple[str, int, int]]:
    """(ReLU node name, offset, size) for every ReLU node, offsets into one concatenated row."""
    layout, offset = [], 0
    for node in graph.nodes:
        if isinstance(node.op, Relu) or type(node.op).__name__ == "BetaRelu":
            size = int(torch.Size(node.shape).numel())
            layout.append((node.name, offset, size))
            offset += size
    return layout


def batch_first(alphas: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """[S, B, ...] <-> [B, S, ...] for every tensor (the engine is spec-first, the pool batch-first)."""
    return {k: v.transpose(0, 1) for k, v in alphas.items()}


def bound_domains(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, C: torch.Tensor, d: torch.Tensor,
                  method: str, splits: dict[str, torch.Tensor] | None = None,
                  warm: dict[str, torch.Tensor] | None = None, alpha_iterations: int = 20) -> DomainBounds:
    """Bound boxes lower/upper [B, n] (and splits) against C [B or 1, r, m], d [B or 1, r]."""
    B = lower.shape[0]
    domains = Domains(lower.reshape(B, *graph.input_shape), upper.reshape(B, *graph.input_shape), splits or {})
    state = None if warm is None else AlphaState(batch_first(warm))
    result = bound(graph, domains, C, d, method, BoundOptions(alpha_iterations=alpha_iterations), state)
    out_warm = None if result.warm_start is None else batch_first(result.warm_start.alphas)
    return DomainBounds(result.lower, result.intermediate, out_warm)


@dataclass
class ReluRows:
    """Pre-activation bounds of every ReLU as rows lower/upper [B, N] (layers concatenated
    as in `relu_layout`): the form the domain pool stores them in."""

    lower: torch.Tensor
    upper: torch.Tensor

    @staticmethod
    def of(graph: Graph, pre: dict[str, Interval]) -> "ReluRows":
        names = [name for name, _, _ in relu_layout(graph)]
        return ReluRows(torch.cat([pre[n].lower.flatten(1) for n in names], dim=1),
                        torch.cat([pre[n].upper.flatten(1) for n in names], dim=1))

    def boxes(self, graph: Graph, lower: torch.Tensor, upper: torch.Tensor) -> dict[str, Interval]:
        """The boxes a backward pass needs: the input box and every ReLU's input."""
        B = self.lower.shape[0]
        boxes = {graph.input_name: Interval(lower.expand(B, -1).reshape(B, *graph.input_shape),
                                            upper.expand(B, -1).reshape(B, *graph.input_shape))}
        for name, off, size in relu_layout(graph):
            node = graph.node(name)
            shape = (B, *node.shape)
            boxes[node.inputs[0]] = Interval(self.lower[:, off:off + size].reshape(shape),
                                             self.upper[:, off:off + size].reshape(shape))
        return boxes


def optimise_from_rows(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, C: torch.Tensor,
                       d: torch.Tensor, warm: dict[str, torch.Tensor] | None, iterations: int,
                       lr: float = 0.1, interrupt: Callable[[], None] | None = None
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """α(β)-CROWN lower bounds [B, r] with the given pre-activation bounds kept fixed (a
    child domain reuses its parent's, tightened at the split neuron), and the best α/β
    (batch first). No intermediate pass: this is what makes a branch-and-bound step cheap.
    `interrupt` is called before every α step (see `core.bounds.alpha.optimise`)."""
    return optimise_over_boxes(graph, rows.boxes(graph, lower, upper), C, d, warm, iterations, lr, interrupt)


def optimise_over_boxes(graph: Graph, boxes: dict[str, Interval], C: torch.Tensor, d: torch.Tensor,
                        warm: dict[str, torch.Tensor] | None, iterations: int, lr: float = 0.1,
                        interrupt: Callable[[], None] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """α(β)-CROWN lower bounds [B, r] of C [1 or B, r, m] · y − d with the boxes `boxes`
    [1 or B, *shape] of the input and every nonlinear node's input kept fixed (any
    activations), from the parameters `warm` (batch first) or the defaults; and the best
    parameters (batch first)."""
    plan = plan_for(graph)
    B = max([C.shape[0]] + [box.lower.shape[0] for box in boxes.values()])
    boxes = {name: Interval(box.lower.expand(B, *box.lower.shape[1:]), box.upper.expand(B, *box.upper.shape[1:]))
             for name, box in boxes.items()}
    A = spec_coefficients(C, B, graph.output_shape)
    alphas = initial_alphas(plan, boxes, A.shape[0], None if warm is None else batch_first(warm))
    best, best_alphas = optimise(plan, boxes, A, d.expand(B, -1).T, alphas, iterations, lr, interrupt)
    return best.T, batch_first(best_alphas)


@torch.no_grad()
def backward_from_rows(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, C: torch.Tensor,
                       d: torch.Tensor, warm: dict[str, torch.Tensor] | None,
                       record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """One backward pass: lower bounds [B, r] with fixed pre-activation bounds and α/β;
    `record` receives the coefficients on each nonlinear output [r, B, *shape]."""
    plan = plan_for(graph)
    B = rows.lower.shape[0]
    A = spec_coefficients(C, B, graph.output_shape)
    alphas = None if warm is None else batch_first(warm)
    return backward_bound(plan, graph.output_name, A, rows.boxes(graph, lower, upper), alphas, record).T - d


def primal_points(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, C: torch.Tensor,
                  d: torch.Tensor, warm: dict[str, torch.Tensor] | None) -> torch.Tensor:
    """Per domain, the corner of the input box [B, n] that minimises the linear lower bound
    (x_i = l_i where its coefficient is positive, else u_i): a cheap candidate counterexample."""
    plan = plan_for(graph)
    B = rows.lower.shape[0]
    lo = lower.expand(B, -1).detach().clone().requires_grad_(True)
    hi = upper.expand(B, -1).detach().clone().requires_grad_(True)
    alphas = None if warm is None else batch_first(warm)
    with torch.enable_grad():
        lb = backward_bound(plan, graph.output_name, spec_coefficients(C, B, graph.output_shape),
                            rows.boxes(graph, lo, hi), alphas)
        grad_lo, grad_hi = torch.autograd.grad(lb.sum(), (lo, hi), allow_unused=True)
    positive = (grad_lo if grad_lo is not None else torch.zeros_like(lo)) + \
        (grad_hi if grad_hi is not None else torch.zeros_like(hi))
    return torch.where(positive > 0, lo, hi).detach()


class InputSplitBounder:
    """CROWN lower bounds [B, r] for boxes lower/upper [B, n], differentiable in the box
    (the split heuristic reads the gradient), reusing a parent's pre-activation bounds.

    A child box lies inside its parent's, so the parent's ReLU input bounds `parent`
    (`ReluRows`) stay valid for it: every ReLU input's interval box is intersected with
    them, CROWN bounds the neurons that leaves unstable (a neuron the parent proved stable
    needs no pass: its relaxation is exact whatever its box), and the result is intersected
    with them again (certificate mode `intermediate = "crown-within"`, which the
    checker follows). Returns the lower bounds and the children's own ReLU input bounds (None when
    the network has activations other than ReLU, where nothing is reused).

    `interrupt` is called before each layer is refined and may raise: one call on thousands
    of boxes can take seconds, longer than a cancellation or a deadline may wait.
    """

    intermediate = "crown-within"  # how children's bounds derive from their parent's (ProofTree)

    def __init__(self, graph: Graph, C: torch.Tensor, d: torch.Tensor,
                 interrupt: Callable[[], None] | None = None) -> None:
        self.graph, self.C, self.d, self.interrupt = graph, C, d, interrupt
        self.plan = plan_for(graph)
        self.reuse = len(relu_layout(graph)) == len(self.plan.nonlinear)

    def __call__(self, lower: torch.Tensor, upper: torch.Tensor, parent: ReluRows | None = None
                 ) -> tuple[torch.Tensor, ReluRows | None]:
        graph, plan, B = self.graph, self.plan, lower.shape[0]
        known = parent.boxes(graph, lower.detach(), upper.detach()) if parent is not None and self.reuse else None
        crown = crown_refiner(plan, budget_bytes(lower.device, None))

        def refine(name: str, boxes: dict[str, Interval], box: Interval) -> Interval:
            if self.interrupt is not None:
                self.interrupt()
            if known is not None:  # CROWN only where the parent's bounds leave the neuron unstable
                box = Interval(torch.maximum(box.lower, known[name].lower), torch.minimum(box.upper, known[name].upper))
            box = crown(name, boxes, box)
            if known is not None:
                box = Interval(torch.maximum(box.lower, known[name].lower), torch.minimum(box.upper, known[name].upper))
            return box

        with torch.no_grad():
            domains = Domains(lower.detach().reshape(B, *graph.input_shape),
                              upper.detach().reshape(B, *graph.input_shape))
            boxes, _ = interval_pass(plan, domains, refine)
        rows = None
        if self.reuse:
            rows = ReluRows.of(graph, {n.name: boxes[n.inputs[0]] for n in plan.nonlinear})
        boxes[graph.input_name] = Interval(lower.reshape(B, *graph.input_shape), upper.reshape(B, *graph.input_shape))
        A = spec_coefficients(self.C, B, graph.output_shape)
        lb = backward_bound(plan, graph.output_name, A, boxes).T - self.d
        return torch.maximum(lb, linear_of_box(boxes[graph.output_name], self.C, self.d).detach()), rows

    def alpha_bound(self, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, row: torch.Tensor,
                    iterations: int, lr: float = 0.1) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """α-CROWN on one row per box: lower bounds [B] of the bounder's row `row` [B] on
        boxes lower/upper [B, n] with their ReLU input bounds `rows` kept fixed, and the
        lower slopes [B, size] per ReLU node that gave them (`iterations` Adam steps from
        the adaptive slopes, so never below CROWN's bound for that row)."""
        plan, graph, B = self.plan, self.graph, lower.shape[0]
        boxes = rows.boxes(graph, lower.detach(), upper.detach())
        A = spec_coefficients(self.C[0][row][:, None, :], B, graph.output_shape)
        d = self.d[0][row][None]
        alphas = initial_alphas(plan, boxes, 1)
        best, best_alphas = optimise(plan, boxes, A, d, alphas, iterations, lr, self.interrupt)
        return best[0], {name: v[0].reshape(B, -1) for name, v in best_alphas.items()}
