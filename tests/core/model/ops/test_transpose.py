"""Transpose of the axes of one example; moving the batch axis is refused."""

import pytest

from core.model import OnnxError, load_network
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("x_shape,perm,out", [([1, 2, 3, 4], [0, 2, 3, 1], (3, 4, 2)),
                                              ([2, 3], None, (3, 2)), ([1, 2, 3], [0, 2, 1], (3, 2))])
def test_transpose(x_shape, perm, out):
    attrs = {} if perm is None else {"perm": perm}
    assert check_operator(single("Transpose", x_shape, **attrs)).output_shape == out


def test_moving_the_batch_axis_is_refused():
    with pytest.raises(OnnxError, match="moves the batch axis"):
        load_network(single("Transpose", [1, 3], perm=[1, 0]))
