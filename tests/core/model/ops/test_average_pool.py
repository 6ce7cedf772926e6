"""AveragePool as a depthwise Conv; border cases it refuses rather than get wrong."""

import pytest

from core.model import OnnxError, load_network
from core.model.ops.average_pool import AveragePool
from tests.core.model.onnx_models import single
from tests.core.model.ops.harness import check_operator


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
    {"kernel_shape": [3, 2]},
    {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1},
])
def test_average_pool(attrs):
    net = check_operator(single("AveragePool", [1, 3, 6, 6], **attrs))
    assert [type(n.op) for n in net.graph.nodes] == [AveragePool]


def test_padding_that_excludes_pads_from_the_count_is_refused():
    data = single("AveragePool", [1, 1, 4, 4], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    with pytest.raises(OnnxError, match="count_include_pad=0"):
        load_network(data)


def test_partial_ceil_mode_windows_are_refused():
    data = single("AveragePool", [1, 1, 5, 5], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    with pytest.raises(OnnxError, match="ceil_mode=1"):
        load_network(data)
