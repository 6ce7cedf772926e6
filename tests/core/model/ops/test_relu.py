"""ReLU: forward, interval and relaxation soundness by dense float64 sampling."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model.ir import Interval
from core.model.ops.relu import Relu
from tests.core.bounds.checks import (assert_backward_sound, assert_relaxation_sound, assert_sound_on_edge_intervals,
                                      box_of_pairs)


def test_forward_and_interval_match_torch():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64).reshape(1, -1)
    assert torch.equal(Relu().forward(x), torch.relu(x))
    box = Relu().interval(Interval(x - 1, x + 1))
    assert torch.equal(box.lower, torch.relu(x - 1)) and torch.equal(box.upper, torch.relu(x + 1))


def test_relaxation_sound_on_edge_intervals_for_every_slope():
    assert_sound_on_edge_intervals(Relu(), (0.0, 0.3, 1.0))


def test_triangle_and_adaptive_slope_values():
    box = Interval(torch.tensor([[-1.0, -3.0, 2.0, -2.0]], dtype=torch.float64),
                   torch.tensor([[3.0, 1.0, 4.0, -1.0]], dtype=torch.float64))
    r = Relu().relax(box)
    assert torch.allclose(r.uw, torch.tensor([[0.75, 0.25, 1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(r.ub, torch.tensor([[0.75, 0.75, 0.0, 0.0]], dtype=torch.float64))
    assert torch.equal(r.lw, torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=torch.float64))
    assert torch.equal(Relu().alpha_init(box), torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=torch.float64))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(0, 100)), min_size=1, max_size=8),
       st.floats(0, 1))
def test_backward_sound_on_random_intervals(pairs, slope):
    box = box_of_pairs(pairs)
    assert_relaxation_sound(Relu(), box, torch.full_like(box.lower, slope), n=501)
    assert_backward_sound(Relu(), box, alpha=torch.full((3, *box.lower.shape), slope, dtype=torch.float64))
