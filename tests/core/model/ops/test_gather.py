"""Gather with constant (possibly repeated, negative, multi-dimensional) indices."""

import numpy as np
import pytest

from core.model import OnnxError, load_network
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("indices,axis,out", [([2, 0, 2], 1, (3, 5)), ([[1, -1], [0, 0]], 2, (4, 2, 2)),
                                              (3, 1, (5,))])
def test_gather(indices, axis, out):
    data = single("Gather", [1, 4, 5], {"i": np.array(indices, dtype=np.int64)}, axis=axis)
    assert check_operator(data).output_shape == out


def test_indices_out_of_range_are_refused():
    with pytest.raises(OnnxError, match="out of range"):
        load_network(single("Gather", [1, 4], {"i": np.array([4])}, axis=1))
