"""Concat of variable tensors, with constant parts in between."""

import numpy as np
from onnx import helper

from core.model.ops.concat import Concat
from tests.core.model.onnx_models import model
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(5)


def test_concat_of_variables():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Concat", ["x", "r", "x"], ["y"], axis=1)]
    net = check_operator(model(nodes, [1, 3], {"w": rng.normal(size=(3, 2))}))
    assert net.output_shape == (8,) and isinstance(net.graph.nodes[-1].op, Concat)


def test_concat_with_constant_parts_along_a_channel_axis():
    nodes = [helper.make_node("Concat", ["c", "x", "d"], ["y"], axis=-2)]
    consts = {"c": rng.normal(size=(1, 2, 1, 3)), "d": rng.normal(size=(1, 2, 2, 3))}
    assert check_operator(model(nodes, [1, 2, 4, 3], consts)).output_shape == (2, 7, 3)
