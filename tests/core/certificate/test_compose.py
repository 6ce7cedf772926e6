"""Composed runs of affine steps (`core/certificate/compose.py`): the error bound covers the
exact composition (rational arithmetic), runs are composed only where that is cheaper, and
a checker using them still rejects outputs that sit an ulp on the unsafe side."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from scipy import sparse

from core.certificate import CertificateBuilder, check, network_digest, property_digest
from core.certificate.compose import compose, composed_runs
from core.certificate.network import Bias, Linear, Relu, chain_of, read_onnx
from tests.core.certificate.nets import one_row_property


def _floats(rng, shape):
    """Values over many binades, so products round."""
    return rng.uniform(-1, 1, shape) * 2.0 ** rng.integers(-8, 8, shape)


def _exact(run, n_in):
    W = [[Fraction(int(i == j)) for j in range(n_in)] for i in range(n_in)]
    b = [Fraction(0)] * n_in
    for step in run:
        if isinstance(step, Bias):
            b = [v + Fraction(float(c)) for v, c in zip(b, step.b)]
            continue
        S = [[Fraction(float(v)) for v in row] for row in (step.W.toarray() if sparse.issparse(step.W) else step.W)]
        W = [[sum(s * W[k][j] for k, s in enumerate(row)) for j in range(n_in)] for row in S]
        b = [sum(s * b[k] for k, s in enumerate(row)) + Fraction(float(c)) for row, c in zip(S, step.b)]
    return W, b


@pytest.mark.parametrize("stored", ["dense", "sparse"])
def test_the_error_bound_covers_the_exact_composition(stored):
    """Also where factors are sparse (large, nearly empty matrices are read that way)."""
    rng = np.random.default_rng(0)
    rounded = 0
    for trial in range(20):
        sizes = rng.integers(2, 6, 4)
        run = []
        for a, b in zip(sizes, sizes[1:]):
            W = _floats(rng, (b, a))
            if stored == "sparse":
                W = sparse.csr_array(np.where(rng.random((b, a)) < 0.5, W, 0.0))
            run.append(Linear(W, _floats(rng, b)))
            if rng.random() < 0.5:
                run.append(Bias(_floats(rng, b)))
        done = compose(run, 0)
        W, b = _exact(run, int(sizes[0]))
        for i in range(len(b)):
            gap = abs(Fraction(float(done.b[i])) - b[i])
            assert gap <= Fraction(float(done.e[i])), (trial, i)
            rounded += gap > 0
            for j in range(int(sizes[0])):
                gap = abs(Fraction(float(done.W[i, j])) - W[i][j])
                assert gap <= Fraction(float(done.E[i, j])), (trial, i, j)
                rounded += gap > 0
        assert np.all(done.E <= 1e-12 * (np.abs(done.W) + 1)), "the bound is a rounding error, not a blanket"
    assert rounded > 0  # the runs do round


def test_runs_are_composed_where_the_product_is_smaller_else_each_linear_with_its_biases():
    rng = np.random.default_rng(1)
    widen = [Linear(rng.normal(size=(16, 2)), np.zeros(16)), Bias(np.ones(16)),
             Linear(rng.normal(size=(256, 16)), np.zeros(256)), Linear(rng.normal(size=(512, 256)), np.zeros(512))]
    narrow = [Linear(rng.normal(size=(128, 512)), np.zeros(128)), Linear(rng.normal(size=(256, 128)), np.zeros(256)),
              Bias(np.ones(256))]
    runs = composed_runs([Bias(np.zeros(2))] + widen + [Relu("r")] + narrow + [Relu("s")])
    assert {k: (r.first, r.W.shape) for k, r in runs.items()} == {4: (1, (512, 2)), 6: (6, (128, 512)), 8: (7, (256, 128))}
    assert runs[6].E is None and runs[8].E is None and runs[8].e.min() > 0  # one Linear is exact; a Bias rounds


def _net(rng, sizes, relu_after):
    """ONNX bytes of Gemm layers with a ReLU after the layers in `relu_after`, and the layers."""
    nodes, inits, current, layers = [], [], "x", []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        W = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32)
        bias = rng.normal(0, 0.3, b).astype(np.float32)
        layers.append((W.astype(np.float64), bias.astype(np.float64), i in relu_after))
        inits += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"g{i}"], transB=1))
        current = f"g{i}"
        if i in relu_after:
            nodes.append(helper.make_node("Relu", [current], [f"relu{i}"]))
            current = f"relu{i}"
    graph = helper.make_graph(nodes, "runs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, sizes[0]])],
                              [helper.make_tensor_value_info(current, TensorProto.FLOAT, [1, sizes[-1]])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(), layers


def _exact_output(layers, x) -> Fraction:
    h = [Fraction(float(v)) for v in x]
    for W, b, relu in layers:
        h = [sum((Fraction(float(w)) * v for w, v in zip(row, h)), Fraction(float(c))) for row, c in zip(W, b)]
        if relu:
            h = [max(v, Fraction(0)) for v in h]
    return h[0]


def test_a_checker_using_composed_runs_rejects_outputs_an_ulp_unsafe_and_proves_clear_ones():
    rng = np.random.default_rng(2)
    for trial in range(15):
        data, layers = _net(rng, [2, 6, 24, 48, 6, 1], relu_after={2, 3})  # 2 -> 6 -> 24 -> 48 composed
        assert 2 in chain_of(read_onnx(data)[1]).runs
        x = rng.uniform(-1, 1, 2)
        exact = _exact_output(layers, x)
        at = float(exact) if Fraction(float(exact)) >= exact else float(np.nextafter(float(exact), np.inf))
        for d, provable in ((at, False), (float(exact) - 1e-9 * max(1.0, abs(float(exact))), True)):
            prop = one_row_property(x, x, [1.0], d)  # unsafe when y <= d: y(x) = exact
            builder = CertificateBuilder(network_digest(data), property_digest(prop), ["relu2", "relu3"])
            builder.target(0, 0).close(0)
            result = check(data, prop, builder.finish())
            assert result.valid == provable, (trial, d, result)
