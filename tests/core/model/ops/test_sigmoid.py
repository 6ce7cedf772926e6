"""Sigmoid: tangent/secant relaxations sound in every case (convex, concave, crossing, tiny, huge)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model.ir import Interval
from core.model.ops.sigmoid import Sigmoid
from tests.core.bounds.checks import assert_relaxation_sound, assert_sound_on_edge_intervals, box_of_pairs


def test_forward_and_derivative():
    x = torch.linspace(-40, 40, 81, dtype=torch.float64).reshape(1, -1)
    assert torch.allclose(Sigmoid().forward(x), torch.sigmoid(x))
    s = torch.sigmoid(x)
    assert torch.allclose(Sigmoid().derivative(x), s * (1 - s), atol=1e-15)


def test_relaxation_sound_on_edge_intervals_for_every_tangent_point():
    assert_sound_on_edge_intervals(Sigmoid(), (0.0, 0.25, 1.0))


def test_crossing_upper_line_touches_the_left_end():
    box = Interval(torch.tensor([[-4.0]], dtype=torch.float64), torch.tensor([[4.0]], dtype=torch.float64))
    r = Sigmoid().relax(box)
    assert abs(float(r.uw * -4.0 + r.ub - torch.sigmoid(torch.tensor(-4.0, dtype=torch.float64)))) < 1e-9
    assert abs(float(r.lw * 4.0 + r.lb - torch.sigmoid(torch.tensor(4.0, dtype=torch.float64)))) < 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-60, 60), st.floats(0, 60)), min_size=1, max_size=6), st.floats(0, 1))
def test_relaxation_sound_on_random_intervals(pairs, alpha):
    box = box_of_pairs(pairs)
    assert_relaxation_sound(Sigmoid(), box, torch.full_like(box.lower, alpha), n=501)
