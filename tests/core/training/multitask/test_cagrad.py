"""CAGrad: the update solves max_d min_t g_t·d within ||d − g_0|| ≤ c ||g_0|| (checked against scipy on the primal)."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from core.training.multitask.combiners import make
from tests.core.training.multitask.helpers import conflicting, quadratic_tasks


def primal_value(G: np.ndarray, c: float) -> float:
    """max over the ball of min_t g_t·d, by SLSQP on (d, s): maximise s, g_t·d ≥ s, ||d − g_0||² ≤ c²||g_0||²."""
    g0 = G.mean(0)
    radius2 = c ** 2 * float(g0 @ g0)
    cons = [{"type": "ineq", "fun": lambda v, t=t: float(G[t] @ v[:-1] - v[-1])} for t in range(len(G))]
    cons.append({"type": "ineq", "fun": lambda v: radius2 - float(np.sum((v[:-1] - g0) ** 2))})
    start = np.append(g0, float((G @ g0).min()))
    found = minimize(lambda v: -v[-1], start, method="SLSQP", constraints=cons, options={"ftol": 1e-12, "maxiter": 500})
    return float((G @ found.x[:-1]).min())


@pytest.mark.parametrize("c", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("grads", [conflicting(), quadratic_tasks(seed=3)[2], quadratic_tasks(seed=5, tasks=2)[2]])
def test_update_solves_the_constrained_max_min(grads, c):
    d = make("cagrad", cagrad_c=c).combine(grads).numpy()
    G = grads.numpy()
    g0 = G.mean(0)
    assert np.linalg.norm(d - g0) <= c * np.linalg.norm(g0) * (1 + 1e-6)  # feasible
    assert (G @ d).min() >= primal_value(G, c) - 1e-5 * np.abs(G).max() ** 2  # and optimal


def test_zero_radius_is_gradient_descent_on_the_mean_loss():
    grads = conflicting()
    assert torch.allclose(make("cagrad", cagrad_c=0.0).combine(grads), grads.mean(0))
