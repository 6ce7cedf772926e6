"""tanh's derivatives: the polynomials, exact ranges and lines, against dense sampling."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pinn import tanh_series


def test_polynomials_match_autograd():
    z = torch.linspace(-4, 4, 101, dtype=torch.float64, requires_grad=True)
    f = torch.tanh(z)
    for k in range(tanh_series.ORDERS):
        assert np.allclose(tanh_series.value(k, z.detach().numpy()), f.detach().numpy(), atol=1e-12)
        f = torch.autograd.grad(f.sum(), z, create_graph=True)[0]


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-6, 6), width=st.floats(1e-7, 8), k=st.integers(0, 2))
def test_ranges_and_lines_hold(lo, width, k):
    hi = lo + width
    z = np.linspace(lo, hi, 2001)
    f = tanh_series.value(k, z)
    low, high = tanh_series.value_range(k, np.array(lo), np.array(hi))
    assert low <= f.min() + 1e-12 and f.max() <= high + 1e-12
    assert high - low <= f.max() - f.min() + 1e-3 * width  # exact, up to the sampling's resolution
    al, cl, au, cu = tanh_series.linear_bounds(k, np.array(lo), np.array(hi))
    assert (al * z + cl <= f + 1e-12).all() and (f <= au * z + cu + 1e-12).all()
