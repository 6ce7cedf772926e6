"""Reshape, Flatten, Squeeze, Unsqueeze: shape-only changes of one example."""

import numpy as np
import pytest

from core.model.ops.reshape import Reshape
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("x_shape,target,out", [
    ([1, 2, 3, 4], [1, -1], (24,)), ([1, 2, 3, 4], [0, 6, 4], (6, 4)), (["n", 6], [-1, 2, 3], (2, 3)),
    ([1, 6], [6], (6,)), ([6], [2, 3], (2, 3)),
])
def test_reshape(x_shape, target, out):
    net = check_operator(single("Reshape", x_shape, {"s": np.array(target, dtype=np.int64)}))
    assert net.output_shape == out and isinstance(net.graph.nodes[0].op, Reshape)


@pytest.mark.parametrize("axis,out", [(1, (24,)), (2, (2, 12)), (-1, (6, 4)), (0, (24,))])
def test_flatten(axis, out):
    assert check_operator(single("Flatten", [1, 2, 3, 4], axis=axis)).output_shape == out


def test_flatten_of_an_unbatched_input():
    assert check_operator(single("Flatten", [2, 3], axis=1)).output_shape == (2, 3)


@pytest.mark.parametrize("opset", [11, 17])
def test_squeeze_and_unsqueeze(opset):
    if opset >= 13:
        sq = single("Squeeze", [1, 3, 1, 2], {"a": np.array([2])}, opset=opset)
        un = single("Unsqueeze", [1, 3], {"a": np.array([1, -1])}, opset=opset)
    else:
        sq = single("Squeeze", [1, 3, 1, 2], opset=opset, axes=[2])
        un = single("Unsqueeze", [1, 3], opset=opset, axes=[1, 3])
    assert check_operator(sq).output_shape == (3, 2)
    assert check_operator(un).output_shape == (1, 3, 1)


def test_squeeze_all_unit_axes():
    assert check_operator(single("Squeeze", [1, 3, 1, 2])).output_shape == (3, 2)
