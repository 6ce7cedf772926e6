"""Gemm -> Linear (alpha, beta, transB, bias shapes), and folding a bias Add into it."""

import numpy as np
import pytest
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ops.linear import Linear
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(0)


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_with_bias_alpha_beta(trans_b):
    w = rng.normal(size=(6, 4) if trans_b else (4, 6))
    net = check_operator(single("Gemm", [1, 4], {"w": w, "c": rng.normal(size=6)},
                                transB=trans_b, alpha=0.5, beta=2.0))
    assert [type(n.op) for n in net.graph.nodes] == [Linear] and net.output_shape == (6,)


def test_gemm_row_bias_and_no_bias():
    check_operator(single("Gemm", [1, 3], {"w": rng.normal(size=(3, 2)), "c": rng.normal(size=(1, 2))}))
    check_operator(single("Gemm", [1, 3], {"w": rng.normal(size=(3, 2))}))


def test_bias_add_and_scale_fold_into_the_gemm():
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["s"]),
             helper.make_node("Mul", ["s", "k"], ["y"])]
    data = model(nodes, [1, 3], {"w": rng.normal(size=(3, 5)), "b": rng.normal(size=5),
                                 "k": rng.normal(size=(1, 5))})
    net = check_operator(data)
    assert [type(n.op) for n in net.graph.nodes] == [Linear]


def test_gemm_with_variable_weight_is_rejected():
    data = model([helper.make_node("Gemm", ["x", "x"], ["y"])], [3, 3])
    with pytest.raises(OnnxError, match="B .input 1. must be a constant"):
        load_network(data)
