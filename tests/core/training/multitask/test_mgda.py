"""MGDA-UB: the weights give the min-norm point of the gradients' convex hull (checked against a scipy QP)."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from core.training.multitask.combiners import make
from core.training.multitask.combiners.min_norm import min_norm_weights
from tests.core.training.multitask.helpers import conflicting, quadratic_tasks


def qp_min_norm(G: np.ndarray) -> float:
    """min ||wᵀ G||² over the simplex by scipy's SLSQP (an independent solver)."""
    T = len(G)
    found = minimize(lambda w: float(np.sum((w @ G) ** 2)), np.full(T, 1 / T), method="SLSQP",
                     bounds=[(0, 1)] * T, constraints=({"type": "eq", "fun": lambda w: w.sum() - 1},),
                     options={"ftol": 1e-14, "maxiter": 500})
    return float(np.sum((found.x @ G) ** 2))


@pytest.mark.parametrize("seed", range(6))
def test_min_norm_point_matches_a_qp_solver(seed):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(2 + seed % 3, 6))
    w = min_norm_weights(G @ G.T)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-12
    assert float(np.sum((w @ G) ** 2)) <= qp_min_norm(G) + 1e-6


def test_conflicting_gradients_have_a_min_norm_point_near_zero_inside_the_hull():
    G = conflicting().numpy()
    w = min_norm_weights(G @ G.T)
    assert (w > 0.05).all()  # an interior point: every task takes part
    assert np.linalg.norm(w @ G) < 0.1 * np.linalg.norm(G, axis=1).min()


def test_backward_is_the_gradient_of_the_min_norm_weighted_loss():
    losses, theta, grads = quadratic_tasks()
    mgda = make("mgda-ub")
    w = mgda.weights(losses, [theta], None)
    mgda.backward(losses, [theta])
    assert torch.allclose(theta.grad, w @ grads)


def test_features_take_the_place_of_the_parameters_when_given():
    """The upper bound: weights from gradients of the shared representation z = Wx."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z = W @ torch.randn(4, generator=g, dtype=torch.float64)
    targets = torch.randn(2, 3, generator=g, dtype=torch.float64)
    losses = ((z - targets) ** 2).sum(1)
    w = make("mgda-ub").weights(losses, [W], z)
    dz = (2 * (z - targets)).detach().numpy()
    assert np.allclose(w.numpy(), min_norm_weights(dz @ dz.T))
