"""Deciding a fully split domain exactly: with every ReLU's phase fixed the network is
affine in x, so "is there an x in the box, consistent with the phases, with C y <= d?"
is one linear program (scipy HiGHS, float64). This is what makes ReLU-splitting branch
and bound complete.
"""

from __future__ import annotations

import numpy as np
import torch

from core.model.ir import Graph, Interval

# An LP optimum must clear this before it closes a domain: HiGHS's feasibility tolerance is 1e-7.
LP_MARGIN = 1e-6


def phase_masks(pre: dict[str, Interval]) -> dict[str, torch.Tensor] | None:
    """1 where the pre-activation is proven >= 0, 0 where <= 0; None if any neuron is unstable."""
    masks = {}
    for name, box in pre.items():
        if bool(((box.lower < 0) & (box.upper > 0)).any()):
            return None
        masks[name] = (box.lower >= 0).to(torch.float64)
    return masks


def affine_pieces(graph: Graph, masks: dict[str, torch.Tensor]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """For the network with ReLU `name` replaced by `mask[name] * input`: the matrix [k, n]
    and offset [k] of every ReLU's input and of the output, as functions of x."""
    graph64 = graph.to("cpu", torch.float64)
    n = graph.input_size
    x = torch.cat([torch.zeros(1, n, dtype=torch.float64), torch.eye(n, dtype=torch.float64)])
    values = {graph64.input_name: x.reshape(n + 1, *graph.input_shape)}
    for node in graph64.nodes:
        args = [values[i] for i in node.inputs]
        if node.name in masks:
            values[node.name] = args[0] * masks[node.name].reshape(1, *node.shape)
        else:
            values[node.name] = node.op.forward(*args)
    mats, offs = {}, {}
    for name in list(masks) + [graph64.output_name]:
        tensor = values[graph64.node(name).inputs[0]] if name in masks else values[name]
        flat = tensor.flatten(1)
        offs[name] = flat[0].numpy()
        mats[name] = (flat[1:] - flat[0]).T.numpy()
    return mats, offs


def exact_leaf(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, C: torch.Tensor, d: torch.Tensor,
               pre: dict[str, Interval]) -> tuple[float | None, torch.Tensor | None, dict | None]:
    """min over consistent x in the box of max_i (c_i·y − d_i), the minimiser, and the LP's
    dual multipliers as certificate evidence (see `_evidence`).

    Returns (+inf, None, evidence) when no x is consistent with the phases, (value, x,
    evidence) when the LP solved, and (None, None, None) when some neuron is still unstable
    or the LP failed.
    """
    masks = phase_masks(pre)
    if masks is None:
        return None, None, None
    mats, offs = affine_pieces(graph, masks)
    n = graph.input_size
    rows, rhs = [], []
    for name, mask in masks.items():
        sign = np.where(mask.reshape(-1).numpy() > 0, 1.0, -1.0)
        # sign * (M x + c) >= 0   <=>   -sign * M x <= sign * c
        rows.append(-sign[:, None] * mats[name])
        rhs.append(sign * offs[name])
    phases, phase_rhs = np.vstack(rows), np.concatenate(rhs)
    Cn, dn = C.detach().cpu().double().numpy(), d.detach().cpu().double().numpy()
    M, c = mats[graph.output_name], offs[graph.output_name]
    lo = lower.detach().cpu().double().numpy().reshape(-1)
    hi = upper.detach().cpu().double().numpy().reshape(-1)
    # c_i·(M x + c) − d_i <= t
    res = _min_t(np.vstack([np.hstack([phases, np.zeros((len(phases), 1))]), np.hstack([Cn @ M, -np.ones((len(dn), 1))])]),
                 np.concatenate([phase_rhs, dn - Cn @ c]), lo, hi)
    sizes = {name: mask.numel() for name, mask in masks.items()}
    if res.status == 2:
        # no x has these phases; min t s.t. -s_j z_j(x) <= t has a positive optimum, and its duals show it
        empty = _min_t(np.hstack([phases, -np.ones((len(phases), 1))]), phase_rhs, lo, hi)
        evidence = _evidence(empty, sizes, np.zeros((1, len(dn)))) if empty.status == 0 and empty.fun > 0 else None
        return float("inf"), None, evidence
    if res.status != 0:
        return None, None, None
    x = torch.as_tensor(np.clip(res.x[:n], lo, hi), dtype=lower.dtype, device=lower.device)
    return float(res.fun), x, _evidence(res, sizes, -res.ineqlin.marginals[len(phases):][None])


def _min_t(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """min t over x in lo..hi and free t subject to A [x, t] <= b (HiGHS; once more without
    presolve on the numerical trouble it sometimes reports). scipy.optimize is imported
    here, not at the top: it costs 0.8 s, paid by every `certbound verify` process
    otherwise, and most runs never reach a fully split domain."""
    from scipy.optimize import linprog

    objective = np.zeros(A.shape[1])
    objective[-1] = 1.0
    problem = dict(A_ub=A, b_ub=b, bounds=list(zip(lo, hi)) + [(None, None)], method="highs")
    res = linprog(objective, **problem)
    if res.status == 4:
        res = linprog(objective, options={"presolve": False}, **problem)
    return res


def _evidence(res, sizes: dict[str, int], rows: np.ndarray) -> dict:
    """The LP's multipliers as `TargetBuilder.close` arguments: β = minus the marginals of the
    phase rows (per ReLU layer, [1, size]), `rows` the weights [1, r] of the disjunct's rows.
    Under them a certificate checker's bound is the LP's optimum (Lagrangian duality)."""
    duals = np.maximum(-res.ineqlin.marginals, 0.0)
    beta, start = {}, 0
    for name, size in sizes.items():
        beta[name] = duals[start:start + size][None]
        start += size
    return {"beta": beta, "rows": np.maximum(rows, 0.0)}
