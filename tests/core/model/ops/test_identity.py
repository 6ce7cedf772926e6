"""Identity and inference Dropout vanish from the graph; the Identity class itself is exact."""

import numpy as np
import pytest
import torch
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ir import Interval
from core.model.ops.identity import Identity
from tests.core.model.onnx_models import model
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("op_type", ["Identity", "Dropout"])
def test_vanishes(op_type):
    nodes = [helper.make_node(op_type, ["x"], ["i"]), helper.make_node("MatMul", ["i", "w"], ["y"])]
    net = check_operator(model(nodes, [1, 3], {"w": np.eye(3)}))
    assert len(net.graph.nodes) == 1


def test_training_dropout_is_refused():
    nodes = [helper.make_node("Dropout", ["x", "r", "t"], ["y"])]
    data = model(nodes, [1, 3], {"r": np.array(0.5), "t": np.array(True)})
    with pytest.raises(OnnxError, match="training-mode dropout"):
        load_network(data)


def test_identity_operator_rules():
    x = torch.randn(2, 3, dtype=torch.float64)
    box = Interval(x - 1, x + 1)
    assert Identity().interval(box) is box and torch.equal(Identity().forward(x), x)
    A = torch.randn(4, 2, 3, dtype=torch.float64)
    (coef,), bias = Identity().linear_backward(A)
    assert torch.equal(coef, A) and bias == 0.0
