"""Pad in constant mode, with a non-zero value and negative (cropping) pads."""

import numpy as np
import pytest

from core.model import OnnxError, load_network
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("pads,value,out", [([0, 0, 1, 2, 0, 0, 2, 1], None, (2, 6, 6)),
                                            ([0, 1, 0, -1, 0, 2, 1, 0], 1.5, (5, 4, 2))])
def test_pad(pads, value, out):
    consts = {"p": np.array(pads, dtype=np.int64)}
    if value is not None:
        consts["v"] = np.array(value)
    assert check_operator(single("Pad", [1, 2, 3, 3], consts)).output_shape == out


def test_opset2_attributes():
    assert check_operator(single("Pad", [1, 3], opset=9, pads=[0, 1, 0, 2], value=-1.0)).output_shape == (6,)


def test_reflect_mode_is_refused():
    with pytest.raises(OnnxError, match="mode 'reflect'"):
        load_network(single("Pad", [1, 3], {"p": np.array([0, 1, 0, 1])}, mode="reflect"))
