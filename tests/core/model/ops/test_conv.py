"""Conv: 1-D and 2-D, strides, dilations, groups, asymmetric and SAME padding, BN folding."""

import numpy as np
import pytest
from onnx import helper

from core.model.ops.conv import Conv
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(2)


@pytest.mark.parametrize("attrs", [
    {},
    {"strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"strides": [2, 1], "pads": [0, 1, 2, 0], "dilations": [1, 2]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"auto_pad": "SAME_LOWER"},
    {"auto_pad": "VALID", "strides": [3, 3]},
])
def test_conv2d(attrs):
    data = single("Conv", [1, 2, 7, 6], {"w": rng.normal(size=(3, 2, 3, 3)), "b": rng.normal(size=3)}, **attrs)
    net = check_operator(data)
    assert [type(n.op) for n in net.graph.nodes] == [Conv]


def test_grouped_conv_without_bias():
    check_operator(single("Conv", [1, 4, 5, 5], {"w": rng.normal(size=(6, 2, 2, 2))}, group=2))


def test_conv1d():
    check_operator(single("Conv", [1, 2, 9], {"w": rng.normal(size=(3, 2, 3))}, strides=[2], pads=[1, 0]))


def test_batch_norm_folds_into_the_conv():
    c = 3
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["h", "g", "beta", "m", "v"], ["y"], epsilon=1e-3)]
    consts = {"w": rng.normal(size=(c, 2, 3, 3)), "b": rng.normal(size=c), "g": rng.normal(size=c),
              "beta": rng.normal(size=c), "m": rng.normal(size=c), "v": rng.uniform(0.5, 2, size=c)}
    net = check_operator(model(nodes, [1, 2, 5, 5], consts, double=False))
    assert [type(n.op) for n in net.graph.nodes] == [Conv]
