"""ScaleShift folding happens exactly where it is exact, and nowhere else."""

import numpy as np
from onnx import helper

from tests.core.model.onnx_models import model
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(11)


def _ops(net):
    return [type(n.op).__name__ for n in net.graph.nodes]


def test_producer_read_twice_is_not_folded():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Mul", ["h", "k"], ["s"]),
             helper.make_node("Add", ["s", "h"], ["y"])]
    net = check_operator(model(nodes, [1, 3], {"w": rng.normal(size=(3, 4)), "k": rng.normal(size=4)}))
    assert _ops(net) == ["Linear", "ScaleShift", "Add"]


def test_scale_varying_within_a_channel_is_not_folded_into_conv():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Mul", ["h", "k"], ["y"])]
    consts = {"w": rng.normal(size=(2, 1, 2, 2)), "k": rng.normal(size=(1, 2, 3, 3))}
    net = check_operator(model(nodes, [1, 1, 4, 4], consts, double=False))
    assert _ops(net) == ["Conv", "ScaleShift"]


def test_per_channel_affine_after_conv_is_folded():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Mul", ["h", "k"], ["m"]),
             helper.make_node("Sub", ["m", "t"], ["y"])]
    consts = {"w": rng.normal(size=(2, 1, 2, 2)), "k": rng.normal(size=(2, 1, 1)), "t": rng.normal(size=(2, 1, 1))}
    net = check_operator(model(nodes, [1, 1, 4, 4], consts, double=False))
    assert _ops(net) == ["Conv"]


def test_broadcast_that_grows_the_output_is_not_folded():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    net = check_operator(model(nodes, [1, 1, 3], {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=(1, 3, 4))}))
    assert _ops(net) == ["Linear", "ScaleShift"] and net.output_shape == (3, 4)
