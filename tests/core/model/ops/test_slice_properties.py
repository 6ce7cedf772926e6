"""Slice on random shapes and parameters (hypothesis): onnxruntime agreement and exact backward."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model import OnnxError
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator

index = st.integers(-8, 8)


@settings(max_examples=40, deadline=None)
@given(dims=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_random_slices(dims, data):
    axes = data.draw(st.lists(st.integers(1, len(dims)), min_size=1, max_size=len(dims), unique=True))
    starts = [data.draw(index) for _ in axes]
    ends = [data.draw(index) for _ in axes]
    steps = [data.draw(st.sampled_from([-3, -2, -1, 1, 2, 3])) for _ in axes]
    expected = np.arange(np.prod(dims)).reshape([1, *dims])
    for a, s, e, t in zip(axes, starts, ends, steps):
        expected = np.take(expected, np.arange(expected.shape[a])[s:e:t], axis=a)
    consts = {k: np.array(v, dtype=np.int64) for k, v in zip("seat", (starts, ends, axes, steps))}
    data_bytes = single("Slice", [1, *dims], consts)
    if expected.size == 0:
        try:
            check_operator(data_bytes, n=4)
        except OnnxError as exc:
            assert "the result is empty" in str(exc)
        return
    assert check_operator(data_bytes, n=4).output_shape == expected.shape[1:]
