"""A ReLU network as a linear program (scipy sparse form, float64), for HiGHS.

One variable per neuron of every tensor. Affine nodes become equalities (their matrices
are read off `linear_backward` applied to the identity); each ReLU on [l, u] is exact
when stable, else the triangle y >= 0, y >= x, y <= u (x - l) / (u - l) (the planet LP),
or the big-M encoding with a binary z: y <= x - l (1 - z), y <= u z (the MILP).
The affine part depends on the network only (`AffinePart`, built once); the ReLU rows on
each domain's pre-activation bounds. Used by the exact references (`reference.py`) and by
branch and bound's counterexample pursuit (`core.bab.pursuit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from core.model.ir import Graph, Interval
from core.model.operator import Affine
from core.model.ops.relu import Relu


@dataclass
class Program:
    """min c·v subject to A_eq v = b_eq, A_ub v <= b_ub, lo <= v <= hi; `integer` marks
    binaries; `offset[tensor]` is the column of the tensor's first neuron."""

    eq: list[tuple[sp.spmatrix, np.ndarray]]
    ub: list[tuple[sp.spmatrix, np.ndarray]]
    lo: np.ndarray
    hi: np.ndarray
    integer: np.ndarray
    offset: dict[str, int]

    def stacked(self) -> tuple[sp.csr_matrix, np.ndarray, sp.csr_matrix, np.ndarray]:
        """(A_eq, b_eq, A_ub, b_ub), each block list stacked."""
        return (sp.vstack([m for m, _ in self.eq]).tocsr(), np.concatenate([b for _, b in self.eq]),
                sp.vstack([m for m, _ in self.ub]).tocsr(), np.concatenate([b for _, b in self.ub]))


def affine_matrices(node_op: Affine, out_shape: tuple[int, ...]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per input of an affine node, its matrix [out, in], and the bias [out]."""
    n_out = int(np.prod(out_shape))
    eye = torch.eye(n_out, dtype=torch.float64).reshape(n_out, 1, *out_shape)
    coefficients, bias = node_op.linear_backward(eye)
    mats = [c.reshape(n_out, -1).numpy() for c in coefficients]
    bias = np.broadcast_to(torch.as_tensor(bias, dtype=torch.float64).reshape(-1).numpy(), (n_out,))
    return mats, bias


class AffinePart:
    """The columns of every tensor and the equalities of every affine node of a ReLU network;
    ValueError for any other activation. Built from a float64 copy on the CPU, where the LP
    is solved, whatever device the search runs on."""

    def __init__(self, graph: Graph) -> None:
        graph = graph.to("cpu", torch.float64)
        self.graph = graph
        self.sizes = {graph.input_name: graph.input_size} | {n.name: int(np.prod(n.shape)) for n in graph.nodes}
        self.offset, total = {}, 0
        for name, size in self.sizes.items():
            self.offset[name], total = total, total + size
        self.n_tensor_vars = total
        self.relus = [n for n in graph.nodes if not isinstance(n.op, Affine)]
        for node in self.relus:
            if type(node.op) is not Relu:
                raise ValueError(f"the LP handles ReLU networks only; node {node.name!r} is {type(node.op).__name__}")
        self._eq = []
        for node in graph.nodes:
            if isinstance(node.op, Affine):
                self._eq.append((node.name, node.inputs, affine_matrices(node.op, node.shape)))

    def columns(self, name: str) -> np.ndarray:
        return np.arange(self.offset[name], self.offset[name] + self.sizes[name])

    def equalities(self, n_vars: int) -> list[tuple[sp.spmatrix, np.ndarray]]:
        out = []
        for name, inputs, (mats, bias) in self._eq:
            rows = np.arange(self.sizes[name])
            block = sp.coo_matrix((np.ones(rows.size), (rows, self.columns(name))), shape=(rows.size, n_vars))
            for source, m in zip(inputs, mats):
                m = sp.coo_matrix(m)
                block = block - sp.coo_matrix((m.data, (m.row, self.columns(source)[m.col])), shape=(rows.size, n_vars))
            out.append((block.tocsr(), bias))
        return out


def build_program(graph: Graph, box: Interval, pre: dict[str, Interval], exact: bool,
                  affine: AffinePart | None = None) -> Program:
    """The planet LP (`exact` False) or big-M MILP of the network over `box` [1, *input] with
    pre-activation bounds `pre[relu node]` [1, *shape]; `affine`: the network's, when built before."""
    affine = affine or AffinePart(graph)
    total = affine.n_tensor_vars
    z_offset = {}
    if exact:  # one binary per ReLU neuron, after all the tensor variables
        for node in affine.relus:
            z_offset[node.name], total = total, total + affine.sizes[node.name]
    n_vars = total
    lo, hi = np.full(n_vars, -np.inf), np.full(n_vars, np.inf)
    integer = np.zeros(n_vars)
    inputs = affine.columns(affine.graph.input_name)
    lo[inputs] = box.lower.double().reshape(-1).cpu().numpy()
    hi[inputs] = box.upper.double().reshape(-1).cpu().numpy()
    ub = []
    for node in affine.relus:
        x, y = affine.columns(node.inputs[0]), affine.columns(node.name)
        l, u = (t.double().reshape(-1).cpu().numpy() for t in (pre[node.name].lower, pre[node.name].upper))
        lo[x], hi[x] = np.maximum(lo[x], l), np.minimum(hi[x], u)
        lo[y], hi[y] = np.maximum(l, 0), np.maximum(u, 0)
        ub.extend(relu_rows(x, y, l, u, n_vars, z_offset.get(node.name)))
        if exact:
            z = np.arange(z_offset[node.name], z_offset[node.name] + y.size)
            lo[z], hi[z], integer[z] = (l >= 0).astype(float), (u > 0).astype(float), 1
    return Program(affine.equalities(n_vars), ub, lo, hi, integer, affine.offset)


def relu_rows(x, y, l, u, n_vars, z_start):
    """Inequalities A v <= b for y = relu(x) on [l, u]: y >= x (all), triangle or big-M above."""
    k = np.arange(x.size)
    rows = []
    rows.append((sp.coo_matrix((np.r_[np.ones(k.size), -np.ones(k.size)], (np.r_[k, k], np.r_[x, y])),
                               shape=(k.size, n_vars)), np.zeros(k.size)))  # x - y <= 0
    unstable = (l < 0) & (u > 0)
    inactive = u <= 0
    if z_start is None:
        # (u - l) y - u x <= -u l on unstable neurons; y <= 0 on inactive ones; y <= x on active ones
        slope_y = np.where(unstable, u - l, 1.0)
        slope_x = np.where(unstable, -u, np.where(inactive, 0.0, -1.0))
        rhs = np.where(unstable, -u * l, 0.0)
        rows.append((sp.coo_matrix((np.r_[slope_y, slope_x], (np.r_[k, k], np.r_[y, x])), shape=(k.size, n_vars)),
                     rhs))
    else:
        z = z_start + k
        # y - x - l z <= -l  and  y - u z <= 0
        rows.append((sp.coo_matrix((np.r_[np.ones(k.size), -np.ones(k.size), -l],
                                    (np.r_[k, k, k], np.r_[y, x, z])), shape=(k.size, n_vars)), -l))
        rows.append((sp.coo_matrix((np.r_[np.ones(k.size), -u], (np.r_[k, k], np.r_[y, z])), shape=(k.size, n_vars)),
                     np.zeros(k.size)))
    return rows
