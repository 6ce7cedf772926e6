"""Random small ReLU networks as real ONNX bytes, and their exact minima by MILP (scipy HiGHS)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import Bounds, LinearConstraint, milp

from core.spec.property import Box, Conjunction, Property, Region


def random_layers(rng: np.random.Generator, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Float32-representable weights W [out, in] and biases [out] for a fully connected net."""
    return [(rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32).astype(np.float64),
             rng.normal(0, 0.3, b).astype(np.float32).astype(np.float64)) for a, b in zip(sizes, sizes[1:])]


def onnx_bytes(layers: list[tuple[np.ndarray, np.ndarray]], activation: str = "Relu") -> bytes:
    """Gemm (transB) + `activation` between layers, input [1, n]: the shape VNN-COMP networks have."""
    nodes, inits, current = [], [], "x"
    for i, (W, b) in enumerate(layers):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{i}"), numpy_helper.from_array(b.astype(np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"g{i}"], transB=1))
        current = f"g{i}"
        if i < len(layers) - 1:
            nodes.append(helper.make_node(activation, [current], [f"{activation.lower()}{i}"]))
            current = f"{activation.lower()}{i}"
    graph = helper.make_graph(nodes, "random", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, layers[0][0].shape[1]])],
                              [helper.make_tensor_value_info(current, TensorProto.FLOAT, [1, layers[-1][0].shape[0]])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def forward(layers, x: np.ndarray) -> np.ndarray:
    for i, (W, b) in enumerate(layers):
        x = x @ W.T + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return x


def one_row_property(lower, upper, c, d) -> Property:
    """Unsafe when c·y <= d, for x in lower..upper."""
    c = np.asarray(c, np.float64)
    return Property(len(lower), len(c), (Region(Box(np.asarray(lower, float), np.asarray(upper, float)),
                                                (Conjunction(c[None], np.array([float(d)])),)),))


def below_the_minimum(layers, gap: float) -> Property:
    """Unsafe when the sum of the outputs is at most its exact minimum over [-1, 1]^n less
    `gap`: a property that holds, by a margin small enough to need branching."""
    n, m = layers[0][0].shape[1], layers[-1][0].shape[0]
    lower, upper, c = -np.ones(n), np.ones(n), np.ones(m)
    return one_row_property(lower, upper, c, exact_min(layers, lower, upper, c) - gap)


def exact_min(layers, lower, upper, c, fixed: dict[tuple[int, int], int] | None = None, d=None) -> float:
    """min c·f(x) over the box (c [m]), or min over x of max_i C_i·f(x) - d_i (c a matrix C [r, m]),
    with ReLU (layer, neuron) phases fixed as given (+1 active, -1 inactive); +inf when the
    fixings leave no input. Big-M from interval bounds."""
    fixed = fixed or {}
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    n_var, rows, rhs_lo, rhs_hi, var_lo, var_hi, integral = 0, [], [], [], [], [], []

    def new(count, low, high, integer=False):
        nonlocal n_var
        var_lo.extend(low)
        var_hi.extend(high)
        integral.extend([int(integer)] * count)
        n_var += count
        return np.arange(n_var - count, n_var)

    def constrain(coeffs: dict[int, float], low, high):
        rows.append(coeffs)
        rhs_lo.append(low)
        rhs_hi.append(high)

    x = new(len(lo), lo, hi)
    for i, (W, b) in enumerate(layers):
        plo = np.maximum(W, 0) @ lo + np.minimum(W, 0) @ hi + b - 1e-6
        phi = np.maximum(W, 0) @ hi + np.minimum(W, 0) @ lo + b + 1e-6
        lo, hi = np.maximum(plo, 0), np.maximum(phi, 0)
        z = new(len(b), plo, phi)
        for j in range(len(b)):  # z_j - W_j x = b_j
            constrain({int(z[j]): 1.0, **{int(x[k]): -W[j, k] for k in range(len(x))}}, b[j], b[j])
        if i == len(layers) - 1:
            break
        h = new(len(b), np.zeros(len(b)), np.maximum(phi, 0))
        a = new(len(b), np.zeros(len(b)), np.ones(len(b)), integer=True)
        for j in range(len(b)):
            zj, hj, aj, l, u = int(z[j]), int(h[j]), int(a[j]), plo[j], phi[j]
            phase = fixed.get((i, j), 0)
            if phase:
                constrain({aj: 1.0}, float(phase > 0), float(phase > 0))
            constrain({hj: 1.0, zj: -1.0}, 0.0, np.inf)                     # h >= z
            constrain({hj: 1.0, zj: -1.0, aj: -min(l, 0.0)}, -np.inf, -min(l, 0.0))  # h <= z - l(1 - a)
            constrain({hj: 1.0, aj: -max(u, 0.0)}, -np.inf, 0.0)           # h <= u a
            constrain({zj: 1.0, aj: -max(u, 0.0)}, -np.inf, 0.0)           # a = 0 -> z <= 0
            constrain({zj: 1.0, aj: -min(l, 0.0)}, min(l, 0.0), np.inf)     # a = 1 -> z >= 0
        x = h
    objective = np.zeros(n_var)
    c = np.asarray(c, np.float64)
    if c.ndim == 1:
        objective[z] = c
    else:  # C_i·y - t <= d_i for every row: t >= max_i C_i·y - d_i
        t = int(new(1, [-np.inf], [np.inf])[0])
        objective = np.append(objective, 1.0)
        for row, offset in zip(c, np.zeros(len(c)) if d is None else d):
            constrain({t: -1.0, **{int(k): float(v) for k, v in zip(z, row)}}, -np.inf, float(offset))
    A = np.zeros((len(rows), n_var))
    for r, coeffs in enumerate(rows):
        for k, v in coeffs.items():
            A[r, k] += v
    result = milp(objective, constraints=LinearConstraint(A, rhs_lo, rhs_hi), integrality=np.array(integral),
                  bounds=Bounds(var_lo, var_hi), options={"mip_rel_gap": 1e-9})
    if result.status == 2:
        return float("inf")
    assert result.status == 0, result.message
    return float(result.fun)
