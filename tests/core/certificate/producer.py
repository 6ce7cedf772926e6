"""A small honest certificate producer for tests: branch and bound with the engine's real
bounds (`core.bounds.bound`), recorded through `CertificateBuilder` exactly as the
verifier records its search. Input splitting closes leaves with CROWN (no parameters);
ReLU splitting closes them with α-CROWN and stores the optimised slopes; a domain whose
every neuron is fixed is closed by an LP whose dual multipliers become the leaf's β
(phase constraints) and row weights (the disjunct's rows), which is how the verifier's
LP-closed leaves are certified.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linprog

from core.bounds import BoundOptions, Domains, bound
from core.bounds.crown import backward_bound, spec_coefficients
from core.bounds.plan import plan_for
from core.certificate import Certificate, CertificateBuilder, property_digest
from core.model import load_network
from core.model.ir import Interval
from core.model.ops.relu import Relu

MARGIN = 1e-7


class GaveUp(Exception):
    """The producer's budget ran out before every leaf closed."""


def relu_sizes(graph) -> dict[str, int]:
    return {n.name: int(np.prod(n.shape)) for n in graph.nodes if isinstance(n.op, Relu)}


def produce(onnx_bytes: bytes, prop, branching: str = "input", max_domains: int = 4000) -> Certificate:
    """A certificate for `prop` by "input" or "relu" splitting, or "reuse" (input splitting
    whose children first try their parent's pre-activation bounds); raises GaveUp when
    `max_domains` per target do not suffice."""
    network = load_network(onnx_bytes)
    graph = network.graph.to("cpu", torch.float64)
    builder = CertificateBuilder(network.sha256, property_digest(prop), list(relu_sizes(graph)),
                                 {"name": "tests.producer", "branching": branching})
    for r, region in enumerate(prop.regions):
        for k, conjunction in enumerate(region.unsafe):
            target = builder.target(r, k)
            C = torch.as_tensor(conjunction.C)[None]
            d = torch.as_tensor(conjunction.d)[None]
            lower, upper = torch.as_tensor(region.box.lower), torch.as_tensor(region.box.upper)
            if branching == "relu":
                _relu_split(graph, target, C, d, lower, upper, max_domains)
            else:
                _input_split(graph, target, C, d, lower, upper, max_domains, reuse=branching == "reuse")
    return builder.finish()


def _input_split(graph, target, C, d, lower, upper, max_domains: int, reuse: bool = False) -> None:
    """Bisect the widest dimension until CROWN closes each box. With `reuse`, a child is
    first bounded with its parent's pre-activation bounds (as a verifier's cheap step
    does), and a leaf closed that way records them as the bounds it used."""
    open_ = [(0, lower, upper, None)]
    visited = 0
    while open_:
        batch, open_ = open_[:256], open_[256:]
        visited += len(batch)
        if visited > max_domains:
            raise GaveUp(f"more than {max_domains} boxes")
        lo = torch.stack([b[1] for b in batch]).reshape(len(batch), *graph.input_shape)
        hi = torch.stack([b[2] for b in batch]).reshape(len(batch), *graph.input_shape)
        result = bound(graph, Domains(lo, hi), C, d, "crown")
        for j, (node, l, u, inherited) in enumerate(batch):
            if reuse and inherited is not None and _bound_with(graph, l, u, inherited, C, d) > MARGIN:
                target.close(node, pre={k: (v.lower[0], v.upper[0]) for k, v in inherited.items()})
                continue
            if float(result.lower[j].amax()) > MARGIN:
                target.close(node)
                continue
            mine = {k: Interval(v.lower[j:j + 1], v.upper[j:j + 1]) for k, v in result.intermediate.items()}
            dim = int(torch.argmax(u - l))
            cut = float((l[dim] + u[dim]) / 2)
            left, right = target.split(node, ("input", dim, cut))
            lu, rl = u.clone(), l.clone()
            lu[dim], rl[dim] = cut, cut
            open_ += [(left, l, lu, mine), (right, rl, u, mine)]


def _bound_with(graph, lower, upper, pre: dict[str, Interval], C, d) -> float:
    """CROWN's bound on the box lower..upper with the given pre-activation bounds kept fixed."""
    boxes = {graph.input_name: Interval(lower.reshape(1, *graph.input_shape), upper.reshape(1, *graph.input_shape))}
    boxes.update({graph.node(name).inputs[0]: box for name, box in pre.items()})
    A = spec_coefficients(C, 1, graph.output_shape)
    return float((backward_bound(plan_for(graph), graph.output_name, A, boxes).T - d).amax())


def _relu_split(graph, target, C, d, lower, upper, max_domains: int) -> None:
    sizes = relu_sizes(graph)
    lo, hi = lower.reshape(1, *graph.input_shape), upper.reshape(1, *graph.input_shape)
    open_ = [(0, {name: torch.zeros(size, dtype=torch.int8) for name, size in sizes.items()})]
    visited = 0
    options = BoundOptions(alpha_iterations=8)
    while open_:
        node, split = open_.pop()
        visited += 1
        if visited > max_domains:
            raise GaveUp(f"more than {max_domains} ReLU domains")
        splits = {name: s.reshape(1, *graph.node(name).shape) for name, s in split.items()}
        result = bound(graph, Domains(lo, hi, splits), C, d, "crown")
        if float(result.lower.amax()) > MARGIN:
            target.close(node)
            continue
        result = bound(graph, Domains(lo, hi, splits), C, d, "alpha", options)
        if float(result.lower.amax()) > MARGIN:
            alphas = result.warm_start.alphas if result.warm_start else {}
            target.close(node, alpha={k: v[:, 0] for k, v in alphas.items()})
            continue
        choice = _unstable_neuron(result.intermediate, split)
        if choice is None:
            _close_by_lp_duals(graph, target, node, C[0], d[0], lower, upper, result.intermediate)
            continue
        name, index = choice
        left, right = target.split(node, ("relu", name, index))
        for child, sign in ((left, -1), (right, 1)):
            child_split = {k: v.clone() for k, v in split.items()}
            child_split[name][index] = sign
            open_.append((child, child_split))


def _unstable_neuron(intermediate, split) -> tuple[str, int] | None:
    """The free unstable neuron with the widest crossing, in the first layer that has one."""
    for name, s in split.items():
        box = intermediate[name]
        l, u = box.lower.reshape(-1), box.upper.reshape(-1)
        score = torch.minimum(-l, u).masked_fill((l >= 0) | (u <= 0) | (s != 0), -1.0)
        if float(score.max()) > 0:
            return name, int(score.argmax())
    return None


def _affine_pieces(graph, masks: dict[str, torch.Tensor]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """With each ReLU replaced by its fixed phase, every ReLU input and the output are affine
    in x: name -> (matrix [k, n], offset [k]) (the output under the key "")."""
    n = graph.input_size
    basis = torch.cat([torch.zeros(1, n, dtype=torch.float64), torch.eye(n, dtype=torch.float64)])
    values = {graph.input_name: basis.reshape(n + 1, *graph.input_shape)}
    pieces = {}
    for node in graph.nodes:
        args = [values[i] for i in node.inputs]
        if node.name in masks:
            flat = args[0].flatten(1)
            pieces[node.name] = ((flat[1:] - flat[0]).T.numpy(), flat[0].numpy())
            values[node.name] = args[0] * masks[node.name]
        else:
            values[node.name] = node.op.forward(*args)
    flat = values[graph.output_name].flatten(1)
    pieces[""] = ((flat[1:] - flat[0]).T.numpy(), flat[0].numpy())
    return pieces


def _close_by_lp_duals(graph, target, node, C, d, lower, upper, intermediate) -> None:
    """min t s.t. x in the box, s_j z_j(x) >= 0 for every neuron, C_i y(x) - d_i <= t; its
    duals are multipliers under which the checker's bound equals the LP optimum. When the
    phases admit no x, min t s.t. -s_j z_j(x) <= t instead: its duals prove emptiness
    (row weights 0, so the checker's bound is min over the box of -sum β s z > 0)."""
    masks = {name: (box.lower[0] >= 0).to(torch.float64) for name, box in intermediate.items()}
    pieces = _affine_pieces(graph, masks)
    phase_rows, phase_rhs = [], []
    for name, mask in masks.items():
        M, m = pieces[name]
        sign = np.where(mask.reshape(-1).numpy() > 0, 1.0, -1.0)
        phase_rows.append(-sign[:, None] * M)
        phase_rhs.append(sign * m)
    P, q = np.vstack(phase_rows), np.concatenate(phase_rhs)
    M, m = pieces[""]
    Cn, dn = C.numpy(), d.numpy()
    feasible = _lp_min_t(np.vstack([np.hstack([P, np.zeros((len(q), 1))]), np.hstack([Cn @ M, -np.ones((len(dn), 1))])]),
                         np.concatenate([q, dn - Cn @ m]), lower, upper)
    if feasible.status == 2:
        empty = _lp_min_t(np.hstack([P, -np.ones((len(q), 1))]), q, lower, upper)
        duals, rows = -empty.ineqlin.marginals, np.zeros((1, len(dn)))
        value = empty.fun
    else:
        duals = -feasible.ineqlin.marginals
        rows, value = duals[len(q):][None], feasible.fun
    if value is None or value <= MARGIN:
        raise GaveUp(f"a fully split domain stays open (LP value {value})")
    beta, start = {}, 0
    for name, mask in masks.items():
        beta[name] = duals[start:start + mask.numel()][None]
        start += mask.numel()
    target.close(node, beta=beta, rows=rows)


def _lp_min_t(A, b, lower, upper):
    """min t over x in the box and free t, subject to A [x, t] <= b (HiGHS)."""
    objective = np.zeros(A.shape[1])
    objective[-1] = 1.0
    bounds = list(zip(lower.numpy(), upper.numpy())) + [(None, None)]
    return linprog(objective, A_ub=A, b_ub=b, bounds=bounds, method="highs")
