"""Tanh: tangent/secant relaxations sound in every case (convex, concave, crossing, tiny, huge)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model.ir import Interval
from core.model.ops.tanh import Tanh
from tests.core.bounds.checks import assert_relaxation_sound, assert_sound_on_edge_intervals, box_of_pairs


def test_forward_and_derivative():
    x = torch.linspace(-20, 20, 81, dtype=torch.float64).reshape(1, -1)
    assert torch.allclose(Tanh().forward(x), torch.tanh(x))
    assert torch.allclose(Tanh().derivative(x), 1 - torch.tanh(x) ** 2, atol=1e-15)


def test_relaxation_sound_on_edge_intervals_for_every_tangent_point():
    assert_sound_on_edge_intervals(Tanh(), (0.0, 0.6, 1.0))


def test_one_sided_intervals_use_the_secant_on_the_curved_side():
    box = Interval(torch.tensor([[0.5]], dtype=torch.float64), torch.tensor([[2.0]], dtype=torch.float64))
    r = Tanh().relax(box)
    secant = (torch.tanh(torch.tensor(2.0, dtype=torch.float64)) - torch.tanh(torch.tensor(0.5, dtype=torch.float64))) / 1.5
    assert abs(float(r.lw) - float(secant)) < 1e-12  # concave: secant below
    assert abs(float(r.uw) - float(1 - torch.tanh(torch.tensor(1.25, dtype=torch.float64)) ** 2)) < 1e-12  # tangent at midpoint above


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 30)), min_size=1, max_size=6), st.floats(0, 1))
def test_relaxation_sound_on_random_intervals(pairs, alpha):
    box = box_of_pairs(pairs)
    assert_relaxation_sound(Tanh(), box, torch.full_like(box.lower, alpha), n=501)
