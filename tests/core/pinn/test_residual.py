"""PDE residual bounds contain the residual autograd computes, for every PDE and condition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pinn.derivatives import autograd_derivatives
from core.pinn.pde import PDES, get_pde
from core.pinn.residual import grid, residual_bounds, residual_values
from tests.core.pinn.nets import points_in, random_mlp


@pytest.mark.parametrize("name", sorted(PDES))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(1e-3, 1.0))
def test_residual_bounds_contain_sampled_residuals(name, seed, fraction):
    pde = get_pde(name)
    mlp = random_mlp(seed, (2, 6, 6, pde.n_outputs), gain=1.5)
    rng = np.random.default_rng(seed)
    for condition in pde.conditions:
        d = condition.domain
        size = d[:, 1] - d[:, 0]
        lower = d[:, 0] + rng.uniform(size=(4, 2)) * size * (1 - fraction)
        upper = lower + fraction * size
        lo, hi = residual_bounds(mlp, condition, lower, upper)
        values = residual_values(mlp, condition, points_in(lower, upper, 20, seed).reshape(-1, 2))
        values = values.reshape(4, 20, -1)
        slack = 1e-9 * (1 + np.abs(values).max())
        assert (values >= lo[:, None] - slack).all() and (values <= hi[:, None] + slack).all(), condition.name


def test_burgers_residual_is_the_equation():
    """The formula, evaluated at points, is u_t + u u_x - (0.01/π) u_xx written out by hand."""
    mlp = random_mlp(5, (2, 7, 1))
    x = grid(np.array([[0.0, 1.0], [-1.0, 1.0]]), 5)
    u, grad, hess = autograd_derivatives(mlp, x, ((1, 1),))
    expected = grad[0] + u * grad[1] - 0.01 / np.pi * hess[(1, 1)]
    assert np.allclose(residual_values(mlp, get_pde("burgers").condition("residual"), x), expected)
    initial = residual_values(mlp, get_pde("burgers").condition("initial"), x * [0, 1])
    assert np.allclose(initial, mlp.forward(x * [0, 1]) + np.sin(np.pi * x[:, 1:]))


def test_schrodinger_residual_is_the_equation():
    mlp = random_mlp(6, (2, 7, 2))
    x = grid(np.array([[0.0, 1.5], [-5.0, 5.0]]), 4)
    h, grad, hess = autograd_derivatives(mlp, x, ((1, 1),))
    hh = h[:, 0] + 1j * h[:, 1]
    h_t, h_xx = grad[0][:, 0] + 1j * grad[0][:, 1], hess[(1, 1)][:, 0] + 1j * hess[(1, 1)][:, 1]
    f = 1j * h_t + 0.5 * h_xx + np.abs(hh) ** 2 * hh
    got = residual_values(mlp, get_pde("schrodinger").condition("residual"), x)
    assert np.allclose(got[:, 0], f.real) and np.allclose(got[:, 1], f.imag)


def test_unknown_pde_is_named():
    with pytest.raises(KeyError, match="unknown pde 'heat'"):
        get_pde("heat")
