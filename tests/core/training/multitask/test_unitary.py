"""Unitary scalarization: the update is the sum of the task gradients, from one backward pass."""

import torch

from core.training.multitask.combiners import make
from tests.core.training.multitask.helpers import quadratic_tasks


def test_unitary_update_is_the_sum_of_task_gradients_and_holds_no_gradient_matrix():
    losses, theta, grads = quadratic_tasks()
    combiner = make("unitary")
    combiner.backward(losses, [theta])
    assert torch.allclose(theta.grad, grads.sum(0))
    assert combiner.extra_bytes == 0


def test_head_parameters_get_their_own_gradient_too():
    losses, theta, _ = quadratic_tasks()
    head = torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64, requires_grad=True)
    make("unitary").backward(losses * head, [theta], [head])
    assert torch.allclose(head.grad, losses.detach())
