"""LeakyReLU: forward, interval and relaxation soundness, convex (alpha < 1) and concave (alpha > 1)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model.ops.leaky_relu import LeakyRelu
from tests.core.bounds.checks import assert_backward_sound, assert_sound_on_edge_intervals, box_of_pairs


def test_forward_matches_torch():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64).reshape(1, -1)
    assert torch.allclose(LeakyRelu(0.1).forward(x), torch.nn.functional.leaky_relu(x, 0.1))


@pytest.mark.parametrize("negative_slope", [0.0, 0.01, 0.5, 1.0, 2.0])
def test_relaxation_sound_on_edge_intervals(negative_slope):
    assert_sound_on_edge_intervals(LeakyRelu(negative_slope), (0.0, 0.5, 1.0))


def test_negative_alpha_is_refused_with_its_value():
    with pytest.raises(ValueError, match="-0.5"):
        LeakyRelu(-0.5)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 3), st.lists(st.tuples(st.floats(-100, 100), st.floats(0, 100)), min_size=1, max_size=6))
def test_backward_sound_on_random_intervals(negative_slope, pairs):
    assert_backward_sound(LeakyRelu(negative_slope), box_of_pairs(pairs))
