"""The one bounding interface: bound a batch of domains against specifications.

Branch and bound calls `bound` for every batch of domains it visits; new methods (β
split multipliers, dual solvers on tighter relaxations) plug in as new entries of
`_METHODS`, taking the same arguments and returning the same `BoundResult`.
"""

from __future__ import annotations

from typing import Callable, Literal

import torch

from core.bounds.alpha import initial_alphas, optimise
from core.bounds.anderson import SolverOptions, anderson_net, solve
from core.bounds.anderson.memory import DUAL_METHODS, dual_domains_per_chunk
from core.bounds.anderson.relaxation import relaxation
from core.bounds.anderson.start import from_backward_pass
from core.bounds.crown import backward_bound, crown_refiner, spec_coefficients
from core.bounds.domains import AlphaState, BoundOptions, BoundResult, Domains
from core.bounds.ibp import interval_pass, linear_of_box
from core.bounds.memory import budget_bytes, domains_per_chunk
from core.bounds.plan import Plan, plan_for
from core.model.ir import Graph, Interval

Method = Literal["ibp", "crown", "alpha", "big-m", "active-set", "saddle-point"]


def bound(graph: Graph, domains: Domains, C: torch.Tensor, d: torch.Tensor, method: Method = "crown",
          options: BoundOptions | None = None, warm_start: AlphaState | None = None) -> BoundResult:
    """Sound bounds on C·f(x) − d for x in each domain.

    `C` is [B or 1, S, n_outputs] and `d` [B or 1, S] (one set shared by all domains, or
    one per domain). Returns lower bounds [B, S] (and upper bounds when `options.upper`),
    the intermediate bounds, and for "alpha" the parameters a child domain can warm-start
    from (`result.warm_start.index(parent_indices)`). Domains whose split constraints are
    contradictory get lower bound +inf (and upper -inf). Batches that would not fit in
    `options.memory_bytes` are bounded in chunks.
    """
    options = options or BoundOptions()
    if method not in _METHODS:
        raise ValueError(f"unknown bounding method {method!r}; choose one of {sorted(_METHODS)}")
    plan = plan_for(graph)
    C, d = _checked_spec(graph, domains, C, d)
    specs = C.shape[1]
    if options.upper:  # upper bounds of C·y − d are minus lower bounds of −C·y + d
        C, d = torch.cat([C, -C], dim=1), torch.cat([d, -d], dim=1)
    budget = budget_bytes(domains.lower.device, options.memory_bytes)
    if method in DUAL_METHODS:
        chunk = dual_domains_per_chunk(anderson_net(graph), C.shape[1], domains.lower.element_size(), budget)
    else:
        chunk = domains_per_chunk(plan, C.shape[1], method == "alpha", domains.lower.element_size(), budget)
    parts = []
    for start in range(0, domains.batch, chunk):
        part = slice(start, start + chunk)
        pick = lambda t: t if t.shape[0] == 1 else t[part]  # noqa: E731
        warm = None if warm_start is None else warm_start.index(part)
        parts.append(_METHODS[method](plan, domains.index(part), pick(C), pick(d), options, budget, warm))
    result = parts[0] if len(parts) == 1 else BoundResult.cat(parts)
    if options.upper:
        result.lower, result.upper = result.lower[:, :specs], -result.lower[:, specs:]
    return result


def _checked_spec(graph: Graph, domains: Domains, C: torch.Tensor, d: torch.Tensor):
    like = domains.lower
    C, d = C.to(like), d.to(like)
    if C.dim() == 2:
        C = C.unsqueeze(0)
    if d.dim() == 1:
        d = d.unsqueeze(0)
    if C.dim() != 3 or C.shape[2] != graph.output_size or C.shape[0] not in (1, domains.batch):
        raise ValueError(f"specification matrix C has shape {tuple(C.shape)}; expected [1 or {domains.batch}, S, "
                         f"{graph.output_size}] for {domains.batch} domains and {graph.output_size} outputs")
    if d.shape[1:] != C.shape[1:2] or d.shape[0] not in (1, domains.batch):
        raise ValueError(f"offsets d have shape {tuple(d.shape)}; expected [1 or {domains.batch}, {C.shape[1]}]")
    if domains.lower[0].numel() != graph.input_size:
        raise ValueError(f"domains have {domains.lower[0].numel()} inputs each, the network takes {graph.input_size}")
    return C, d


def _finish(plan: Plan, boxes: dict[str, Interval], empty: torch.Tensor, lower: torch.Tensor,
            C: torch.Tensor, d: torch.Tensor, warm: AlphaState | None = None) -> BoundResult:
    """Tighten by the output box, mark empty domains, collect intermediate bounds."""
    lower = torch.maximum(lower, linear_of_box(boxes[plan.graph.output_name], C, d))
    lower = lower.masked_fill(empty.unsqueeze(1), float("inf"))
    intermediate = {n.name: boxes[n.inputs[0]] for n in plan.nonlinear}
    return BoundResult(lower=lower, upper=None, intermediate=intermediate, warm_start=warm)


def _ibp(plan, domains, C, d, options, budget, warm) -> BoundResult:
    boxes, empty = interval_pass(plan, domains)
    return _finish(plan, boxes, empty, linear_of_box(boxes[plan.graph.output_name], C, d), C, d)


def _intermediate(plan: Plan, domains: Domains, options: BoundOptions, budget: int):
    refine = crown_refiner(plan, budget) if options.intermediate == "crown" else None
    return interval_pass(plan, domains, refine)


@torch.no_grad()
def _crown(plan, domains, C, d, options, budget, warm) -> BoundResult:
    boxes, empty = _intermediate(plan, domains, options, budget)
    A = spec_coefficients(C, domains.batch, plan.graph.output_shape)
    lower = backward_bound(plan, plan.graph.output_name, A, boxes).T - d
    return _finish(plan, boxes, empty, lower, C, d)


def _alpha(plan, domains, C, d, options, budget, warm) -> BoundResult:
    with torch.no_grad():
        boxes, empty = _intermediate(plan, domains, options, budget)
    best, best_alphas = _optimised(plan, domains, boxes, C, d, options, warm)
    return _finish(plan, boxes, empty, best.T, C, d, AlphaState(best_alphas))


def _optimised(plan, domains, boxes, C, d, options, warm):
    A = spec_coefficients(C, domains.batch, plan.graph.output_shape)
    alphas = initial_alphas(plan, boxes, A.shape[0], None if warm is None else warm.alphas)
    offsets = d.expand(domains.batch, -1).T
    return optimise(plan, boxes, A, offsets, alphas, options.alpha_iterations, options.alpha_lr)


def _dual(solver: str) -> Callable[..., BoundResult]:
    """A dual solver on the Anderson relaxation, started from α-CROWN's multipliers (so never looser)."""

    def run(plan, domains, C, d, options, budget, warm) -> BoundResult:
        with torch.no_grad():
            boxes, empty = _intermediate(plan, domains, options, budget)
        best, best_alphas = _optimised(plan, domains, boxes, C, d, options, warm)
        net = anderson_net(plan.graph)
        relax = relaxation(net, boxes[plan.graph.input_name], {layer.relu: boxes[layer.pre] for layer in net.layers})
        A = spec_coefficients(C, domains.batch, plan.graph.output_shape)
        start = from_backward_pass(plan, boxes, A, relax, best_alphas)
        settings = SolverOptions(iterations=options.dual_iterations)
        lower, _ = solve(solver, relax, net.objective(C, d), start, settings)
        return _finish(plan, boxes, empty, torch.maximum(lower, best).T, C, d)

    return run


_METHODS: dict[str, Callable[..., BoundResult]] = {"ibp": _ibp, "crown": _crown, "alpha": _alpha}
_METHODS.update({name: _dual(name) for name in DUAL_METHODS})
METHODS: tuple[str, ...] = tuple(_METHODS)
