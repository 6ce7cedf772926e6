"""Slice with constant starts/ends/axes/steps, including negative steps and clamping."""

import numpy as np
import pytest

from core.model import OnnxError, load_network
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("starts,ends,axes,steps,out", [
    ([1], [3], [1], [1], (2, 5)), ([0, -4], [100, 4], [1, 2], [2, 1], (2, 3)),
    ([-1], [-100], [2], [-2], (4, 3)), ([0], [1], [0], [1], (4, 5)),
])
def test_slice(starts, ends, axes, steps, out):
    consts = {k: np.array(v, dtype=np.int64) for k, v in zip("seat", (starts, ends, axes, steps))}
    assert check_operator(single("Slice", [1, 4, 5], consts)).output_shape == out


def test_opset9_attributes():
    data = single("Slice", [1, 4, 5], opset=9, starts=[1], ends=[3], axes=[2])
    assert check_operator(data).output_shape == (4, 2)


def test_slicing_away_the_batch_is_refused():
    consts = {k: np.array(v, dtype=np.int64) for k, v in zip("sea", ([1], [2], [0]))}
    with pytest.raises(OnnxError, match="batch axis"):
        load_network(single("Slice", [1, 4], consts))
