"""The certified confidence gap bounds every gap seen by dense sampling (float64) and by PGD,
and is tight enough to be useful: zero for a student equal to its teacher on a point box."""

import numpy as np
import pytest
import torch

from core.distillation.agreement import epsilon_box
from core.distillation.gap import certified_gap, empirical_gap, probability_graph, teacher_class
from core.distillation.joint import joint_network
from core.model import load_network
from tests.core.distillation.nets import mlp


def pair(input_shape=(1, 1, 4, 4), seed: int = 0):
    teacher = mlp([8, 8, 3], seed, input_shape=input_shape, scale=2.0)
    student = mlp([6, 3], seed + 1, input_shape=input_shape, scale=2.0)
    return load_network(joint_network(teacher, student).onnx).graph


def test_probability_graph_is_softmax_of_each_half():
    graph = pair()
    x = torch.rand(5, 16, dtype=torch.float64)
    z = graph.forward(x)
    p = probability_graph(graph).forward(x)
    torch.testing.assert_close(p, torch.cat([z[:, :3].softmax(1), z[:, 3:].softmax(1)], 1))


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.4])
def test_certified_gap_holds_on_a_dense_grid_and_above_pgd(eps):
    graph = pair(input_shape=(1, 2))  # two inputs: a 101 x 101 grid covers the box
    point = np.array([0.4, 0.6])
    box = epsilon_box(point, eps)
    c = teacher_class(graph, point)
    bound = certified_gap(graph, box, c)
    axes = [torch.linspace(float(lo), float(hi), 101, dtype=torch.float64) for lo, hi in zip(box.lower, box.upper)]
    p = probability_graph(graph).forward(torch.cartesian_prod(*axes))
    sampled = float((p[:, c] - p[:, 3 + c]).abs().max())
    found = empirical_gap(graph, box, c)
    assert sampled <= bound + 1e-12 and found <= bound + 1e-12
    assert found >= sampled - 1e-3  # PGD reaches what the grid sees
    if eps <= 0.01:  # and on small boxes the bound is nearly exact
        assert bound <= sampled + 0.1 * eps


def test_identical_networks_on_a_point_have_no_gap():
    teacher = mlp([8, 3], 0)
    graph = load_network(joint_network(teacher, teacher).onnx).graph
    box = epsilon_box(np.full(16, 0.5), 1e-12)
    assert certified_gap(graph, box, 0) < 1e-9
