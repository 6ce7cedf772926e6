"""Softmax: onnxruntime agreement, exact interval bounds, and linear bounds sound against
sampling and (float64, two and three inputs) dense grids; CROWN through it beats IBP on small boxes."""

import itertools

import numpy as np
import pytest
import torch
from onnx import helper

from core.bounds import BoundOptions, Domains, bound
from core.model import load_network
from core.model.errors import OnnxError
from core.model.ir import Interval
from core.model.ops.softmax import Softmax
from tests.core.bounds.checks import assert_backward_sound
from tests.core.model.ops.harness import assert_matches_onnxruntime
from tests.core.model.onnx_models import model, single


def grid(box: Interval, steps: int) -> torch.Tensor:
    """Every point of a `steps`^n grid over a one-row box [1, n] -> [steps^n, n]."""
    axes = [torch.linspace(float(lo), float(hi), steps, dtype=torch.float64)
            for lo, hi in zip(box.lower[0], box.upper[0])]
    return torch.cartesian_prod(*axes).reshape(-1, box.lower.shape[1])


def random_box(n: int, width: float, seed: int) -> Interval:
    g = torch.Generator().manual_seed(seed)
    lower = 6 * torch.rand(1, n, dtype=torch.float64, generator=g) - 3
    return Interval(lower, lower + width * torch.rand(1, n, dtype=torch.float64, generator=g))


@pytest.mark.parametrize("n, width, seed", [(2, 0.1, 0), (2, 3.0, 1), (3, 0.2, 2), (3, 4.0, 3), (3, 0.0, 4)])
def test_bounds_hold_on_a_dense_grid_and_the_interval_is_attained(n, width, seed):
    op, box = Softmax(-1), random_box(n, width, seed)
    x = grid(box, 41 if n == 2 else 17)
    y = op.forward(x)
    interval = op.interval(box)
    assert torch.all(interval.lower <= y + 1e-12) and torch.all(y <= interval.upper + 1e-12)
    corners = torch.stack([torch.where(torch.tensor(c, dtype=torch.bool), box.upper[0], box.lower[0])
                           for c in itertools.product((0, 1), repeat=n)])
    at_corners = op.forward(corners)
    torch.testing.assert_close(at_corners.min(0).values, interval.lower[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(at_corners.max(0).values, interval.upper[0], rtol=0, atol=1e-12)
    slope, lower, upper = op.planes(box)
    plane = x @ slope[0].T
    assert torch.all(plane + lower <= y + 1e-12), "lower plane above softmax on the grid"
    assert torch.all(y <= plane + upper + 1e-12), "upper plane below softmax on the grid"


@pytest.mark.parametrize("width", [1e-3, 0.5, 5.0, 40.0])
def test_backward_step_sound_on_sampled_points(width):
    g = torch.Generator().manual_seed(7)
    lower = 8 * torch.rand(2, 3, 5, dtype=torch.float64, generator=g) - 4
    box = Interval(lower, lower + width * torch.rand(2, 3, 5, dtype=torch.float64, generator=g))
    assert_backward_sound(Softmax(2), box, specs=4, n=600)
    assert_backward_sound(Softmax(1), box, specs=4, n=600)


def test_planes_beat_constant_bounds_on_small_boxes():
    box = random_box(4, 1e-2, 5)
    slope, lower, upper = Softmax(-1).planes(box)
    interval = Softmax(-1).interval(box)
    assert torch.all(slope.abs().sum(-1) > 0), "small boxes should use the planes"
    assert torch.all(upper - lower < 0.2 * (interval.upper - interval.lower))


def net_with_softmax(opset: int = 17, axis: int | None = None) -> bytes:
    g = np.random.default_rng(0)
    attrs = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "V", "c"], ["z"], transB=1),
             helper.make_node("Softmax", ["z"], ["y"], **attrs)]
    consts = {"W": g.normal(size=(6, 3)), "b": g.normal(size=6), "V": g.normal(size=(4, 6)), "c": g.normal(size=4)}
    return model(nodes, [1, 3], consts, opset)


def test_loaded_network_matches_onnxruntime_and_crown_is_sound_and_tighter_than_ibp():
    net = load_network(net_with_softmax())
    g = torch.Generator().manual_seed(0)
    assert_matches_onnxruntime(net, torch.rand(32, 3, dtype=torch.float64, generator=g) * 2 - 1)
    center = torch.tensor([[0.3, -0.2, 0.5]], dtype=torch.float64)
    domains = Domains(center - 0.05, center + 0.05)
    C = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)
    d = torch.zeros(2, dtype=torch.float64)
    options = BoundOptions(upper=True)
    ibp, crown = (bound(net.graph, domains, C, d, m, options) for m in ("ibp", "crown"))
    x = center - 0.05 + 0.1 * torch.rand(4000, 3, dtype=torch.float64, generator=g)
    values = net.graph.forward(x) @ C.T
    for result in (ibp, crown):
        assert torch.all(result.lower[0] <= values.min(0).values + 1e-12)
        assert torch.all(values.max(0).values <= result.upper[0] + 1e-12)
    assert torch.all(crown.upper - crown.lower < ibp.upper - ibp.lower)


def test_front_end_axes_and_refusals():
    assert load_network(net_with_softmax(axis=1)).graph.nodes[-1].op.axis == 1
    assert load_network(net_with_softmax(opset=11)).graph.nodes[-1].op.axis == 1
    assert load_network(single("Softmax", [1, 2, 3], axis=1)).graph.nodes[-1].op.axis == 1
    with pytest.raises(OnnxError, match="Softmax over several axes"):
        load_network(single("Softmax", [1, 2, 3], opset=11, axis=1))
    with pytest.raises(OnnxError, match="batch axis"):
        load_network(single("Softmax", [1, 4], axis=0))
