"""ONNX activation and MaxPool nodes become the bounds helper's classes with the right
attributes (including ONNX defaults), and agree with onnxruntime."""

import numpy as np
import pytest
import torch
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ops.leaky_relu import LeakyRelu
from core.model.ops.max_pool import MaxPool
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import assert_intervals_sound, assert_matches_onnxruntime


def _check(data: bytes, shape: tuple) -> object:
    net = load_network(data)
    x = -3 + 6 * torch.rand(16, *shape, dtype=torch.float64)
    assert_matches_onnxruntime(net, x)
    assert_intervals_sound(net.graph, -3.0, 3.0, x)
    return net.graph.nodes[0].op


@pytest.mark.parametrize("op_type", ["Relu", "Sigmoid", "Tanh"])
def test_plain_activations(op_type):
    assert type(_check(single(op_type, [1, 4]), (4,))).__name__ == op_type


def test_leaky_relu_alpha_and_default():
    assert _check(single("LeakyRelu", [1, 4], alpha=0.2), (4,)).alpha == pytest.approx(0.2)
    op = _check(single("LeakyRelu", [1, 4]), (4,))
    assert isinstance(op, LeakyRelu) and op.alpha == pytest.approx(0.01)


@pytest.mark.parametrize("attrs,expected", [
    ({"kernel_shape": [2, 2]}, ((2, 2), (1, 1), (0, 0, 0, 0))),
    ({"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, ((3, 3), (2, 2), (1, 1, 1, 1))),
    ({"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}, ((3, 3), (2, 2), (0, 0, 1, 1))),
])
def test_max_pool_attributes(attrs, expected):
    op = _check(single("MaxPool", [1, 2, 6, 6], **attrs), (2, 6, 6))
    assert isinstance(op, MaxPool) and (op.kernel_shape, op.strides, op.pads) == expected


def test_max_pool_the_engine_cannot_handle_is_an_onnx_error():
    with pytest.raises(OnnxError, match=r"node 'y' \(MaxPool\): MaxPool supports 2-D pooling only"):
        load_network(single("MaxPool", [1, 2, 6], kernel_shape=[2]))


def test_conv_relu_maxpool_gemm_chain():
    rng = np.random.default_rng(7)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("Gemm", ["f", "g"], ["y"])]
    data = model(nodes, [1, 1, 4, 4], {"w": rng.normal(size=(2, 1, 3, 3)), "g": rng.normal(size=(8, 3))},
                 double=False)
    net = load_network(data)
    assert [type(n.op).__name__ for n in net.graph.nodes] == ["Conv", "Relu", "MaxPool", "Reshape", "Linear"]
    assert_matches_onnxruntime(net, torch.rand(8, 1, 4, 4, dtype=torch.float64).float().double())
