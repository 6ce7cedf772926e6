"""RLW: weights are random, positive, sum to 1, and the update is Σ w_t ∇L_t."""

import torch

from core.training.multitask.combiners import make
from tests.core.training.multitask.helpers import quadratic_tasks


def test_weights_lie_on_the_simplex_and_change_every_step():
    losses, theta, grads = quadratic_tasks()
    rlw = make("rlw", torch.Generator().manual_seed(0))
    draws = torch.stack([rlw.weights(losses, [theta], None) for _ in range(200)])
    assert (draws > 0).all() and torch.allclose(draws.sum(1), torch.ones(200, dtype=draws.dtype))
    assert draws.std(0).min() > 0.05  # random, not a fixed weighting
    assert abs(float(draws.mean(0)[0]) - 1 / 3) < 0.05  # exchangeable tasks: each weight averages 1/T


def test_update_is_the_weighted_gradient_of_the_drawn_weights():
    losses, theta, grads = quadratic_tasks()
    w = make("rlw", torch.Generator().manual_seed(5)).weights(losses, [theta], None)
    make("rlw", torch.Generator().manual_seed(5)).backward(losses, [theta])
    assert torch.allclose(theta.grad, w @ grads)
