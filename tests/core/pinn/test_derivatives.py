"""Derivative bounds contain autograd's values and tighten as the boxes shrink."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pinn.derivatives import autograd_derivatives, derivative_bounds
from tests.core.pinn.nets import points_in, random_mlp

PAIRS = ((0, 0), (0, 1), (1, 1))


def _values(mlp, lower, upper, n=24, seed=0):
    pts = points_in(lower, upper, n, seed)
    u, grad, hess = autograd_derivatives(mlp, pts.reshape(-1, 2), PAIRS)
    shape = (lower.shape[0], n, -1)
    return {"u": u.reshape(shape), **{f"d{i}": g.reshape(shape) for i, g in enumerate(grad)},
            **{f"d{p}": h.reshape(shape) for p, h in hess.items()}}


def _enclosures(bounds):
    return {"u": bounds.u, **{f"d{i}": g for i, g in enumerate(bounds.grad)},
            **{f"d{p}": h for p, h in bounds.hess.items()}}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), width=st.floats(1e-4, 2.0), linear=st.booleans(),
       outputs=st.integers(1, 2), gain=st.floats(0.5, 2.5))
def test_bounds_contain_autograd_values(seed, width, linear, outputs, gain):
    mlp = random_mlp(seed, (2, 5, 5, outputs), gain)
    rng = np.random.default_rng(seed)
    lower = rng.uniform(-2, 2, size=(6, 2))
    upper = lower + width * rng.uniform(0.1, 1.0, size=(6, 2))
    bounds = _enclosures(derivative_bounds(mlp, lower, upper, PAIRS, linear=linear))
    for name, values in _values(mlp, lower, upper, seed=seed).items():
        enc = bounds[name]
        slack = 1e-9 * (1 + np.abs(values).max())
        assert (values >= enc.lo[:, None, :] - slack).all(), name
        assert (values <= enc.hi[:, None, :] + slack).all(), name
        # the lines hold too, at each point's coordinates e in [-1, 1]^d
        pts = points_in(lower, upper, values.shape[1], seed)
        e = (pts - (lower + upper)[:, None] / 2) / ((upper - lower)[:, None] / 2)
        low = np.einsum("bnd,bkd->bkn", enc.lw, e) + enc.lb[:, None]
        high = np.einsum("bnd,bkd->bkn", enc.uw, e) + enc.ub[:, None]
        assert (values >= low - slack).all() and (values <= high + slack).all(), name


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_bounds_tighten_as_boxes_shrink(seed):
    mlp = random_mlp(seed, (2, 8, 8, 8, 1))
    center = np.random.default_rng(seed).uniform(-1, 1, size=(4, 2))
    widths = []
    for radius in (1e-1, 1e-2, 1e-3, 1e-6):
        enc = _enclosures(derivative_bounds(mlp, center - radius, center + radius, PAIRS))
        widths.append(max(float(np.max(e.hi - e.lo)) for e in enc.values()))
    assert all(b < a for a, b in zip(widths, widths[1:])), widths
    assert widths[-1] < 1e-3  # a point's bounds close on its value


def test_linear_bounds_beat_intervals_on_a_deep_net():
    mlp = random_mlp(3, (2, 20, 20, 20, 20, 1))
    lower = np.random.default_rng(1).uniform(-1, 1, size=(8, 2))
    upper = lower + 0.02
    linear = derivative_bounds(mlp, lower, upper, PAIRS)
    plain = derivative_bounds(mlp, lower, upper, PAIRS, linear=False)
    for a, b in zip(_enclosures(linear).values(), _enclosures(plain).values()):
        assert (a.hi - a.lo).mean() < 0.5 * (b.hi - b.lo).mean()
