"""Mul/Div by constants and standalone BatchNormalization -> ScaleShift; folding of chains."""

import numpy as np
import pytest
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ops.scale_shift import ScaleShift
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(4)


@pytest.mark.parametrize("op_type,inputs", [("Mul", ["x", "c"]), ("Mul", ["c", "x"]), ("Div", ["x", "c"])])
def test_by_constant(op_type, inputs):
    check_operator(single(op_type, [1, 3, 2], {"c": rng.uniform(0.5, 2, size=(3, 1))}, inputs=inputs))


def test_standalone_batch_norm():
    c = 3
    consts = {"g": rng.normal(size=c), "b": rng.normal(size=c), "m": rng.normal(size=c),
              "v": rng.uniform(0.5, 2, size=c)}
    net = check_operator(single("BatchNormalization", [1, c, 4, 4], consts, inputs=["x", "g", "b", "m", "v"]))
    assert [type(n.op) for n in net.graph.nodes] == [ScaleShift]


def test_input_normalisation_chain_becomes_one_node():
    nodes = [helper.make_node("Sub", ["x", "mean"], ["a"]), helper.make_node("Div", ["a", "std"], ["y"])]
    net = check_operator(model(nodes, [1, 1, 4, 4], {"mean": np.array([0.13]), "std": np.array([0.31])}))
    assert [type(n.op) for n in net.graph.nodes] == [ScaleShift]


@pytest.mark.parametrize("op_type,inputs,message", [
    ("Mul", ["x", "x"], "Mul of two tensors that depend on the input is not affine"),
    ("Div", ["c", "x"], "division by a tensor that depends on the input"),
    ("Div", ["x", "z"], "the divisor contains zeros"),
])
def test_non_affine_uses_are_refused(op_type, inputs, message):
    data = single(op_type, [1, 2], {"c": np.ones(2), "z": np.array([1.0, 0.0])}, inputs=inputs)
    with pytest.raises(OnnxError, match=message):
        load_network(data)
