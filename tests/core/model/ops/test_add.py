"""Add/Sub: residual sums of two variable tensors, and constants on either side."""

import numpy as np
import pytest
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ops.add import Add
from core.model.ops.scale_shift import ScaleShift
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(3)


@pytest.mark.parametrize("op_type", ["Add", "Sub"])
def test_residual_of_two_variables(op_type):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node(op_type, ["r", "x"], ["y"])]
    net = check_operator(model(nodes, [1, 4], {"w": rng.normal(size=(4, 4))}))
    assert isinstance(net.graph.nodes[-1].op, Add)


def test_broadcasting_variables():
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax"], ["col"]),
             helper.make_node("Sub", ["x", "col"], ["y"])]
    consts = {"st": np.array([0]), "en": np.array([1]), "ax": np.array([2])}
    check_operator(model(nodes, [1, 3, 4], consts))


def test_variables_of_different_ranks_broadcast_by_example_axes():
    # [2] + [2, 2] per example: sizes chosen to equal the loader's probe batch
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax"], ["row"]),
             helper.make_node("Reshape", ["row", "shape"], ["flat"]),
             helper.make_node("Add", ["flat", "x"], ["y"])]
    consts = {"st": np.array([0]), "en": np.array([1]), "ax": np.array([1]), "shape": np.array([1, 2])}
    net = check_operator(model(nodes, [1, 2, 2], consts))
    assert net.output_shape == (2, 2)


@pytest.mark.parametrize("op_type,inputs", [("Add", ["x", "c"]), ("Add", ["c", "x"]),
                                            ("Sub", ["x", "c"]), ("Sub", ["c", "x"])])
def test_constant_operand(op_type, inputs):
    net = check_operator(single(op_type, [1, 2, 3], {"c": rng.normal(size=(2, 1))}, inputs=inputs))
    assert [type(n.op) for n in net.graph.nodes] == [ScaleShift]


def test_constant_of_higher_rank_than_the_input_is_refused():
    with pytest.raises(OnnxError, match=r"node 'y' \(Add\): a constant of shape \[2, 3\] has more axes"):
        load_network(single("Add", [3], {"c": rng.normal(size=(2, 3))}))


def test_constant_broadcasting_the_batch_axis_is_refused():
    with pytest.raises(OnnxError, match="broadcast along the batch axis"):
        load_network(single("Add", [1, 3], {"c": rng.normal(size=(2, 3))}))
