"""CROWN: backward linear bound propagation over the graph (any DAG: residual adds, concats).

A backward pass from tensor t starts from coefficients A on t, walks t's ancestors in
reverse topological order, turning coefficients on each node's output into coefficients
on its inputs (summed where a tensor feeds several nodes) plus constants, and finally
concretises the coefficients on the network input over the input box.
"""

from __future__ import annotations

import torch

from core.bounds.ibp import Refine
from core.bounds.memory import rows_per_pass
from core.bounds.plan import Plan
from core.model.ir import Interval
from core.model.operator import Affine
from core.model.ops.leaky_relu import clearly_stable
from core.model.ops.linear import Linear


def backward_bound(plan: Plan, target: str, A: torch.Tensor, boxes: dict[str, Interval],
                   alphas: dict[str, torch.Tensor] | None = None,
                   record: dict[str, torch.Tensor] | None = None,
                   unit: torch.Tensor | None = None) -> torch.Tensor:
    """Lower bounds [S, B] of sum(A * target) over the input boxes; A is [S, B, *target shape].

    `boxes` must hold the input box and bounds on every nonlinear node's input among
    target's ancestors; `alphas[node]` are optional relaxation parameters [S, B, *shape].
    `record`, when given, receives the coefficients [S, B, *shape] on each nonlinear
    node's output (branch and bound's split heuristics read them). `unit` [S, B], when
    given, says that each row of A has its only nonzero at that flat index (one neuron's
    bound, as intermediate bounds ask): a Linear target then reads those rows of its
    weight instead of multiplying by it, the same values with none of the cost.
    """
    graph = plan.graph
    pending = {target: A}
    bias: torch.Tensor | float = 0.0
    for node in plan.walk[target]:
        coefficient = pending.pop(node.name, None)
        if coefficient is None:
            continue
        inputs = node.inputs
        op = node.op
        if node.name in plan.chains:  # a chain of Linears ending here: one product, straight to its input
            op, source = plan.chains[node.name]
            inputs = [source]
        if unit is not None and node.name == target and isinstance(op, Linear) and A.dim() == 3:
            coefficients, step_bias = _unit_rows_through(op, A, unit)
        elif isinstance(op, Affine):
            coefficients, step_bias = op.linear_backward(coefficient)
        else:
            alpha = None if alphas is None else alphas.get(node.name)
            if record is not None:
                record[node.name] = coefficient.detach()
            step = node.op.backward(coefficient, None, [boxes[node.inputs[0]]], alpha)
            coefficients, step_bias = [lA for lA, _ in step.coefficients], step.lower_bias
        bias = bias + step_bias
        for name, c in zip(inputs, coefficients):
            pending[name] = pending[name] + c if name in pending else c
    box = boxes[graph.input_name]
    result = torch.zeros(A.shape[:2], dtype=A.dtype, device=A.device) + bias
    on_input = pending.get(graph.input_name)
    if on_input is not None:
        result = result + (on_input * box.center).flatten(2).sum(-1) - (on_input.abs() * box.radius).flatten(2).sum(-1)
    return result


def _unit_rows_through(op: Linear, A: torch.Tensor, unit: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
    """`op.linear_backward(A)` for A [S, B, out] whose row (s, b) is zero but at `unit[s, b]`."""
    scale = A.gather(2, unit.unsqueeze(2))  # [S, B, 1]
    return [scale * op.weight[unit]], 0.0 if op.bias is None else scale[..., 0] * op.bias[unit]


def bound_tensor(plan: Plan, target: str, boxes: dict[str, Interval], shape: torch.Size, spec_chunk: int,
                 neurons: torch.Tensor | None = None, fallback: Interval | None = None) -> Interval:
    """Elementwise CROWN lower and upper bounds on `target` ([B, *shape] = `shape`), `spec_chunk`
    rows at a time; only the flat indices `neurons` when given, the others taken from `fallback`."""
    batch, n = shape[0], plan.numel[target]
    like = boxes[plan.graph.input_name].lower
    index = torch.arange(n, device=like.device) if neurons is None else neurons
    k = index.numel()
    parts = []
    for start in range(0, 2 * k, spec_chunk):
        # rows r < k ask for the lower bound of neuron index[r], rows k + r for that of its negation
        rows = torch.arange(start, min(start + spec_chunk, 2 * k), device=like.device)
        chunk = torch.zeros(rows.shape[0], n, dtype=like.dtype, device=like.device)
        chunk[torch.arange(rows.shape[0], device=like.device), index[rows % k]] = (rows < k).to(like.dtype) * 2 - 1
        A = chunk.reshape(chunk.shape[0], 1, *shape[1:]).expand(chunk.shape[0], batch, *shape[1:])
        unit = index[rows % k][:, None].expand(-1, batch)
        parts.append(backward_bound(plan, target, A, boxes, unit=unit))
    both = torch.cat(parts).T  # [B, 2k]
    if neurons is None:
        return Interval(both[:, :n].reshape(shape), -both[:, n:].reshape(shape))
    lower, upper = fallback.lower.flatten(1).clone(), fallback.upper.flatten(1).clone()
    lower[:, index], upper[:, index] = both[:, :k], -both[:, k:]
    return Interval(lower.reshape(shape), upper.reshape(shape))


GROUP = 32  # fewest domains per backward pass when domains get their own rows


def bound_per_domain(plan: Plan, target: str, boxes: dict[str, Interval], box: Interval, unstable: torch.Tensor,
                     counts: torch.Tensor, budget: int) -> Interval:
    """`box` with CROWN lower and upper bounds on the neurons `unstable` [B, n] of each domain.

    The same values as `bound_tensor` over the union of the batch's unstable neurons (a
    domain's bound on a neuron depends only on its own boxes), but each domain asks only
    for its own neurons: domains are sorted by how many they have and bounded in groups,
    each padded to its largest count (padding rows have zero coefficients). Deep in an
    input split a domain has ~1/3 fewer unstable neurons than its batch's union."""
    B, shape = box.lower.shape[0], box.lower.shape
    n = unstable.shape[1]
    lower, upper = box.lower.flatten(1).clone(), box.upper.flatten(1).clone()
    order = torch.argsort(counts, stable=True)
    groups = max(1, min(8, B // GROUP))
    for part in torch.tensor_split(order, groups):
        K = int(counts[part].max())
        if K == 0:
            continue
        g = part.numel()
        mine = unstable[part]
        # each domain's unstable neurons first (in index order), then padding
        idx = torch.argsort((~mine).to(torch.int8), dim=1, stable=True)[:, :K]  # [g, K]
        real = torch.gather(mine, 1, idx)  # [g, K]
        sub = {k: Interval(v.lower[part], v.upper[part]) for k, v in boxes.items()}
        rows = rows_per_pass(plan, target, g, box.lower.element_size(), budget)
        step = max(1, rows // 2)
        found_lo, found_hi = [], []
        for start in range(0, K, step):
            cols = idx[:, start:start + step]  # [g, k]
            k = cols.shape[1]
            A = torch.zeros(2 * k, g, n, dtype=box.lower.dtype, device=box.lower.device)
            sign = real[:, start:start + step].T.to(box.lower.dtype)  # [k, g]
            A[:k].scatter_(2, cols.T.unsqueeze(2), sign.unsqueeze(2))
            A[k:].scatter_(2, cols.T.unsqueeze(2), -sign.unsqueeze(2))
            unit = torch.cat([cols.T, cols.T])  # [2k, g]
            both = backward_bound(plan, target, A.reshape(2 * k, g, *shape[1:]), sub, unit=unit)  # [2k, g]
            found_lo.append(both[:k].T)
            found_hi.append(-both[k:].T)
        lo, hi = torch.cat(found_lo, 1), torch.cat(found_hi, 1)
        rows_of = part[:, None].expand(-1, K)
        keep = real
        lower[rows_of[keep], idx[keep]] = lo[keep]
        upper[rows_of[keep], idx[keep]] = hi[keep]
    return Interval(lower.reshape(shape), upper.reshape(shape))


def crown_refiner(plan: Plan, budget: int) -> Refine:
    """An `interval_pass` refinement that bounds each nonlinear node's input by CROWN.

    Inputs read only by ReLU / LeakyReLU skip the neurons that the interval box already
    shows (clearly) stable: their relaxation is exact whatever the bounds. A domain keeps its
    interval box on those neurons even when another domain of the batch needs CROWN
    there, so each domain's bounds do not depend on its batch (a certificate checker
    re-deriving them domain by domain gets the same boxes, and CROWN is not monotone in
    them: tighter boxes can flip an adaptive slope and loosen a later bound).
    """

    def refine(name: str, boxes: dict[str, Interval], box: Interval) -> Interval:
        rows = rows_per_pass(plan, name, box.lower.shape[0], box.lower.element_size(), budget)
        if name not in plan.hinge_inputs:
            return bound_tensor(plan, name, boxes, box.lower.shape, rows)
        stable = clearly_stable(box.lower, box.upper)
        unstable = (~stable).flatten(1)
        union = unstable.any(0).nonzero().squeeze(1)
        if union.numel() == 0:
            return box
        counts = unstable.sum(1)
        batch = box.lower.shape[0]
        # per-domain rows cost about sum(counts) rows; the union, union * batch
        if batch < 2 * GROUP or int(counts.sum()) > 0.8 * union.numel() * batch:
            crown = bound_tensor(plan, name, boxes, box.lower.shape, rows, union, box)
            return Interval(torch.where(stable, box.lower, crown.lower), torch.where(stable, box.upper, crown.upper))
        return bound_per_domain(plan, name, boxes, box, unstable, counts, budget)

    return refine


def spec_coefficients(C: torch.Tensor, batch: int, output_shape: tuple[int, ...]) -> torch.Tensor:
    """C [B or 1, S, n_outputs] -> backward-pass coefficients [S, B, *output_shape]."""
    C = C.expand(batch, *C.shape[1:])
    return C.transpose(0, 1).reshape(C.shape[1], batch, *output_shape)
