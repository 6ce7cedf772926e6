"""Exact references for small ReLU networks (tests and benchmarks only): the planet LP
relaxation given intermediate bounds, the Anderson LP (by cutting planes), and the exact
MILP, all solved by HiGHS on the programs of `core.bounds.lp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from core.bounds.lp import Program, affine_matrices, build_program
from core.model.ir import Graph, Interval
from core.model.operator import Affine


def _solve(graph: Graph, program: Program, C: np.ndarray, d: np.ndarray, exact: bool) -> np.ndarray:
    A_eq, b_eq, A_ub, b_ub = program.stacked()
    out = program.offset[graph.output_name]
    results = []
    for row, dd in zip(np.atleast_2d(C), np.atleast_1d(d)):
        c = np.zeros(program.lo.size)
        c[out:out + row.size] = row
        if exact:
            res = milp(c, constraints=[LinearConstraint(A_eq, b_eq, b_eq), LinearConstraint(A_ub, -np.inf, b_ub)],
                       integrality=program.integer, bounds=Bounds(program.lo, program.hi))
        else:
            res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                          bounds=np.c_[program.lo, program.hi], method="highs")
        if res.status != 0:
            raise RuntimeError(f"HiGHS failed on the {'MILP' if exact else 'LP'}: {res.message}")
        results.append(res.fun - dd)
    return np.array(results)


def planet_lp(graph: Graph, box: Interval, intermediate: dict[str, Interval], C: np.ndarray, d: np.ndarray
              ) -> np.ndarray:
    """Minimum of C·y − d [S] over the planet relaxation, for one domain `box` ([1, *input]) and
    the given pre-activation bounds per ReLU node ([1, *shape] each, e.g. a BoundResult's)."""
    return _solve(graph, build_program(graph, box, intermediate, exact=False), C, d, exact=False)


def exact_milp(graph: Graph, box: Interval, intermediate: dict[str, Interval], C: np.ndarray, d: np.ndarray
               ) -> np.ndarray:
    """Exact minimum of C·y − d [S] over the box, by MILP; `intermediate` must be sound bounds."""
    return _solve(graph, build_program(graph, box, intermediate, exact=True), C, d, exact=True)


def _relu_chains(graph: Graph):
    """Per ReLU node: (name of its source: the previous ReLU or the input, W, b) with
    x̂ = W·source + b, composed through the single-input affine nodes between them."""
    graph = graph.to(dtype=torch.float64)
    nodes = {n.name: n for n in graph.nodes}
    chains = {}
    for node in graph.nodes:
        if isinstance(node.op, Affine):
            continue
        name = node.inputs[0]
        W = np.eye(int(np.prod(nodes[name].shape)) if name in nodes else graph.input_size)
        b = np.zeros(W.shape[0])
        while name in nodes and isinstance(nodes[name].op, Affine):
            step = nodes[name]
            if len(step.inputs) != 1:
                raise ValueError(f"the Anderson reference needs chains; node {name!r} has {len(step.inputs)} inputs")
            mats, bias = affine_matrices(step.op, step.shape)
            b = b + W @ bias
            W = W @ mats[0]
            name = step.inputs[0]
        chains[node.name] = (name, W, b)
    return chains


def anderson_cuts(W: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, l_hat: np.ndarray,
                  u_hat: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, tol: float = 1e-7):
    """Float64 separation oracle: for each unstable neuron j of y = relu(W x + b) (x in
    [lo, hi]), the most violated Anderson constraint at the point (x, y, z), if violated
    by more than `tol`. Returns (j, mask I) pairs: the constraint is
    y_j <= Σ_{i∈I} w_ji (x_i − Ľ_ji (1 − z_j)) + (Σ_{i∉I} w_ji Û_ji + b_j) z_j."""
    L = np.where(W >= 0, lo, hi)
    U = np.where(W >= 0, hi, lo)
    in_I = W * (x - L * (1 - z[:, None]))
    out_I = W * U * z[:, None]
    mask = in_I < out_I
    rhs = np.where(mask, in_I, out_I).sum(1) + b * z
    unstable = (l_hat < 0) & (u_hat > 0)
    return [(j, mask[j]) for j in np.flatnonzero(unstable & (y - rhs > tol))]


def _cut_row(W, b, lo, hi, j, mask, x_cols, y_col, z_col, n_vars):
    """The Anderson constraint (j, I) as a row A v <= rhs:
    y − Σ_I w x + z (−Σ_I w Ľ − Σ_{∉I} w Û − b) <= −Σ_I w Ľ."""
    w = W[j]
    L, U = np.where(w >= 0, lo, hi), np.where(w >= 0, hi, lo)
    sel = mask & (w != 0)
    row = np.zeros(n_vars)
    row[x_cols[sel]] -= w[sel]
    row[y_col] += 1.0
    row[z_col] += -(w[mask] * L[mask]).sum() - (w[~mask] * U[~mask]).sum() - b[j]
    return row, -(w[mask] * L[mask]).sum()


@dataclass
class AndersonResult:
    """Cutting-plane value per spec row (a lower bound on the Anderson LP optimum, equal to it
    when `converged`), the rounds taken, and the cuts added."""

    value: np.ndarray
    rounds: np.ndarray
    converged: np.ndarray
    cuts: np.ndarray


def anderson_lp(graph: Graph, box: Interval, intermediate: dict[str, Interval], C: np.ndarray, d: np.ndarray,
                max_rounds: int = 50, tol: float = 1e-7) -> AndersonResult:
    """Minimum of C·y − d over the Anderson relaxation (convex hull of each affine-then-ReLU
    over the box of its source), by cutting planes from the big-M LP: the float64 oracle
    `anderson_cuts` separates at the LP optimum until no constraint is violated by `tol`.
    Splits are honoured through `intermediate` (a fixed phase has l̂ >= 0 or û <= 0)."""
    program = build_program(graph, box, intermediate, exact=True)
    graph64 = graph.to(dtype=torch.float64)
    chains = _relu_chains(graph64)
    sizes = {graph64.input_name: graph64.input_size} | {n.name: int(np.prod(n.shape)) for n in graph64.nodes}
    z_start = {}
    start = max(program.offset[n] + sizes[n] for n in sizes)
    for name in chains:
        z_start[name], start = start, start + sizes[name]
    n_vars = program.lo.size
    A_eq, b_eq, A_ub0, b_ub0 = program.stacked()
    layers = []
    for name, (source, W, b) in chains.items():
        cols = np.arange(program.offset[source], program.offset[source] + sizes[source])
        lo, hi = program.lo[cols], program.hi[cols]
        l_hat = intermediate[name].lower.double().reshape(-1).numpy()
        u_hat = intermediate[name].upper.double().reshape(-1).numpy()
        y_cols = np.arange(program.offset[name], program.offset[name] + sizes[name])
        layers.append((W, b, lo, hi, l_hat, u_hat, cols, y_cols, z_start[name] + np.arange(sizes[name])))
    out = program.offset[graph64.output_name]
    values, rounds, converged, n_cuts = [], [], [], []
    for spec, dd in zip(np.atleast_2d(C), np.atleast_1d(d)):
        c = np.zeros(n_vars)
        c[out:out + spec.size] = spec
        rows, rhs = [], []
        for round_ in range(max_rounds + 1):
            A_ub = sp.vstack([A_ub0, sp.csr_matrix(np.array(rows))]) if rows else A_ub0
            b_ub = np.r_[b_ub0, rhs]
            res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                          bounds=np.c_[program.lo, program.hi], method="highs")
            if res.status != 0:
                raise RuntimeError(f"HiGHS failed on the Anderson LP: {res.message}")
            v = res.x
            found = 0
            for W, b, lo, hi, l_hat, u_hat, cols, y_cols, z_cols in layers:
                for j, mask in anderson_cuts(W, b, lo, hi, l_hat, u_hat, v[cols], v[y_cols], v[z_cols], tol):
                    row, r = _cut_row(W, b, lo, hi, j, mask, cols, y_cols[j], z_cols[j], n_vars)
                    rows.append(row)
                    rhs.append(r)
                    found += 1
            if not found or round_ == max_rounds:
                break
        values.append(res.fun - dd)
        rounds.append(round_)
        converged.append(found == 0)
        n_cuts.append(len(rows))
    return AndersonResult(np.array(values), np.array(rounds), np.array(converged), np.array(n_cuts))
