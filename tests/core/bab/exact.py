"""Test helpers: small random ReLU networks as real ONNX files, and the exact answer by MILP.

The MILP (big-M encoding of each ReLU with bounds from interval arithmetic, scipy HiGHS)
decides "is there x in the box with C y <= d?" exactly, independently of the engine.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import Bounds, LinearConstraint, milp

from core.spec.property import Box, Conjunction, Property, Region


def relu_mlp(weights: list[np.ndarray], biases: list[np.ndarray]) -> bytes:
    """ONNX bytes of x -> Gemm -> Relu -> ... -> Gemm (no ReLU after the last layer), input [1, n]."""
    nodes, inits, prev = [], [], "x"
    for k, (W, b) in enumerate(zip(weights, biases)):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{k}"),
                  numpy_helper.from_array(b.astype(np.float32), f"b{k}")]
        out = f"z{k}"
        nodes.append(helper.make_node("Gemm", [prev, f"W{k}", f"b{k}"], [out], transB=1))
        if k < len(weights) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"h{k}"]))
            out = f"h{k}"
        prev = out
    n, m = weights[0].shape[1], weights[-1].shape[0]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, m])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return model.SerializeToString()


def random_mlp(rng: np.random.Generator, sizes: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    weights = [rng.normal(0, 1 / np.sqrt(a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0, 0.3, b) for b in sizes[1:]]
    # float32 round trip, so that the MILP sees exactly the numbers in the ONNX file
    return [w.astype(np.float32).astype(np.float64) for w in weights], [b.astype(np.float32).astype(np.float64)
                                                                       for b in biases]


def one_region(lower: np.ndarray, upper: np.ndarray, disjuncts: list[tuple[np.ndarray, np.ndarray]],
               n_outputs: int) -> Property:
    box = Box(np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64))
    return Property(len(lower), n_outputs, (Region(box, tuple(Conjunction(C, d) for C, d in disjuncts)),))


def disjunct_feasible(weights, biases, lower, upper, C, d) -> tuple[bool, np.ndarray | None]:
    """Exact: is there x in [lower, upper] whose output y has C y <= d? (and such an x)."""
    n = len(lower)
    # variables: x, then per hidden layer (z, h, a), then the output y
    lo_box, hi_box = np.asarray(lower, float), np.asarray(upper, float)
    var_lo, var_hi = list(lo_box), list(hi_box)
    integrality = [0] * n
    blocks = []  # (row dict index->coef, lb, ub)
    index = list(range(n))
    l_cur, u_cur = lo_box, hi_box
    for k, (W, b) in enumerate(zip(weights, biases)):
        Wp, Wn = np.clip(W, 0, None), np.clip(W, None, 0)
        zl, zu = Wp @ l_cur + Wn @ u_cur + b, Wp @ u_cur + Wn @ l_cur + b
        z0 = len(var_lo)
        var_lo += list(zl - 1e-6)
        var_hi += list(zu + 1e-6)
        integrality += [0] * len(b)
        for j in range(len(b)):  # z_j - W_j x = b_j
            row = {z0 + j: 1.0}
            for i, w in zip(index, W[j]):
                row[i] = row.get(i, 0.0) - w
            blocks.append((row, b[j], b[j]))
        if k == len(weights) - 1:
            out = list(range(z0, z0 + len(b)))
            break
        h0 = len(var_lo)
        var_lo += [0.0] * len(b)
        var_hi += list(np.maximum(zu, 0) + 1e-6)
        integrality += [0] * len(b)
        a0 = len(var_lo)
        var_lo += [0.0] * len(b)
        var_hi += [1.0] * len(b)
        integrality += [1] * len(b)
        for j in range(len(b)):
            M_hi, M_lo = max(zu[j], 0) + 1e-6, min(zl[j], 0) - 1e-6
            blocks.append(({h0 + j: 1.0, z0 + j: -1.0}, 0.0, np.inf))                       # h >= z
            blocks.append(({h0 + j: 1.0, a0 + j: -M_hi}, -np.inf, 0.0))                    # h <= M a
            blocks.append(({h0 + j: 1.0, z0 + j: -1.0, a0 + j: -M_lo}, -np.inf, -M_lo))   # h <= z - M_lo (1 - a)
        index = list(range(h0, h0 + len(b)))
        l_cur, u_cur = np.maximum(zl, 0), np.maximum(zu, 0)
    for i in range(C.shape[0]):
        blocks.append(({o: c for o, c in zip(out, C[i])}, -np.inf, d[i]))
    A = np.zeros((len(blocks), len(var_lo)))
    for r, (row, _, _) in enumerate(blocks):
        for col, v in row.items():
            A[r, col] += v
    problem = dict(constraints=LinearConstraint(A, [b[1] for b in blocks], [b[2] for b in blocks]),
                   integrality=np.array(integrality), bounds=Bounds(var_lo, var_hi))
    res = milp(np.zeros(len(var_lo)), **problem)
    if res.status == 4:  # HiGHS's presolve sometimes fails on these small models; solving without it works
        res = milp(np.zeros(len(var_lo)), options={"presolve": False}, **problem)
    assert res.status in (0, 2), f"MILP failed: {res.message}"
    return (res.status == 0), (res.x[:n] if res.status == 0 else None)


def exact_verdict(weights, biases, prop: Property, margin: float = 0.0) -> str:
    """"sat" when some disjunct has a point (with C y <= d - margin), else "unsat"."""
    for region in prop.regions:
        for conj in region.unsafe:
            feasible, _ = disjunct_feasible(weights, biases, region.box.lower, region.box.upper, conj.C,
                                            conj.d - margin)
            if feasible:
                return "sat"
    return "unsat"


def load(onnx_bytes: bytes):
    from core.model import load_network

    return load_network(onnx_bytes)


def two_output_case(rng_seed: int, sample_seed: int, hidden: int):
    """A random MLP 3 -> hidden -> hidden -> 2 on the box [-1, 1]^3 with the one row
    y_0 - y_1 (C [1, 1, 2]), and that row's least value over 20,000 sampled inputs (near
    the true minimum, so that a threshold just below it can go either way):
    (weights, biases, graph, lower, upper, C, sampled_min)."""
    import torch

    weights, biases = random_mlp(np.random.default_rng(rng_seed), [3, hidden, hidden, 2])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((3,), -1.0, dtype=torch.float64), torch.full((3,), 1.0, dtype=torch.float64)
    C = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64)
    points = torch.rand(20000, 3, generator=torch.Generator().manual_seed(sample_seed), dtype=torch.float64) * 2 - 1
    sampled_min = float((graph.forward(points).flatten(1) @ C[0].T).min())
    return weights, biases, graph, lower, upper, C, sampled_min
