"""MaxPool: forward against torch and onnxruntime, interval and linear relaxation by sampling."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from core.model.ir import Interval
from core.model.ops.max_pool import MaxPool
from tests.core.bounds.checks import assert_backward_sound

CASES = [dict(kernel_shape=(2, 2), strides=(2, 2)),
         dict(kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=True),
         dict(kernel_shape=(3, 2), strides=(1, 2), dilations=(2, 1)),
         dict(kernel_shape=(2, 3), strides=(2, 1), pads=(0, 1, 1, 0))]


def _onnxruntime_maxpool(x: np.ndarray, attrs: dict) -> np.ndarray:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=list(attrs["kernel_shape"]),
                            strides=list(attrs["strides"]), pads=list(attrs.get("pads", (0, 0, 0, 0))),
                            dilations=list(attrs.get("dilations", (1, 1))), ceil_mode=int(attrs.get("ceil_mode", 0)))
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]


@pytest.mark.parametrize("attrs", CASES)
def test_forward_matches_onnxruntime(attrs):
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours = MaxPool(**attrs).forward(x).numpy()
    assert np.array_equal(ours, _onnxruntime_maxpool(x.numpy(), attrs))


def test_forward_matches_torch_on_symmetric_padding():
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    ours = MaxPool((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True).forward(x)
    assert torch.equal(ours, F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True))


@pytest.mark.parametrize("attrs", CASES)
def test_interval_and_backward_sound(attrs):
    g = torch.Generator().manual_seed(2)
    centre = torch.randn(2, 2, 7, 8, dtype=torch.float64, generator=g)
    radius = torch.rand(2, 2, 7, 8, dtype=torch.float64, generator=g) * torch.tensor([0.0, 0.05, 1.0])[
        torch.randint(0, 3, (2, 2, 7, 8), generator=g)].double()
    box = Interval(centre - radius, centre + radius)
    op = MaxPool(**attrs)
    x = box.lower + torch.rand(256, *box.lower.shape, dtype=torch.float64, generator=g) * (box.upper - box.lower)
    y = op.forward(x.flatten(0, 1))
    out = op.interval(Interval(box.lower, box.upper))
    assert torch.all(y.reshape(256, *out.lower.shape) >= out.lower) and torch.all(y.reshape(256, *out.lower.shape) <= out.upper)
    assert_backward_sound(op, box, n=256)


def test_point_box_relaxation_is_exact():
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    op = MaxPool((2, 2), (2, 2))
    A = torch.randn(4, 1, 2, 3, 3, dtype=torch.float64)
    step = op.backward(A, A, [Interval.point(x)])
    exact = (A * op.forward(x)).flatten(2).sum(-1)
    (lA, uA), = step.coefficients
    assert torch.allclose((lA * x).flatten(2).sum(-1) + step.lower_bias, exact)
    assert torch.allclose((uA * x).flatten(2).sum(-1) + step.upper_bias, exact)


@pytest.mark.parametrize("bad", [dict(kernel_shape=(2,)), dict(strides=(0, 1)), dict(pads=(1, 1))])
def test_bad_attributes_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        MaxPool(**bad)
