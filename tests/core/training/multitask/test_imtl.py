"""IMTL-G: the update projects equally onto every task's unit gradient, with weights summing to 1."""

import pytest
import torch

from core.training.multitask.combiners import make
from core.training.multitask.combiners.imtl import IMTLG
from tests.core.training.multitask.helpers import conflicting, quadratic_tasks


@pytest.mark.parametrize("grads", [quadratic_tasks(seed=2)[2], conflicting(), quadratic_tasks(seed=4, tasks=2)[2]])
def test_equal_projection_on_every_unit_gradient(grads):
    d = make("imtl-g").combine(grads)
    units = grads / grads.norm(dim=1, keepdim=True)
    projections = units @ d
    assert torch.allclose(projections, projections[0].expand_as(projections), rtol=1e-8, atol=1e-10)
    assert abs(float(IMTLG.weights(grads).sum()) - 1) < 1e-12


def test_a_single_task_keeps_its_gradient():
    g = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    assert torch.allclose(make("imtl-g").combine(g), g[0])


def test_equal_norm_gradients_get_the_plain_average_direction():
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(IMTLG.weights(g), torch.tensor([0.5, 0.5], dtype=torch.float64))
