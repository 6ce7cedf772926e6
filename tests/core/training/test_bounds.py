"""The training bounds are sound (checked against sampled points in float64) and exact at ε = 0."""

from __future__ import annotations

import pytest
import torch

from core.training.bounds import input_box, margin_bounds, margin_matrix
from core.training.convert import to_graph
from core.training.losses import margins_at
from tests.core.training.conftest import settle_batch_norm, small_cnn


def _graph(seed: int):
    model = small_cnn(seed).double()
    settle_batch_norm(model)
    model.eval()
    return to_graph(model, (1, 8, 8)).graph


@pytest.mark.parametrize("crown_weight", [0.0, 0.5, 1.0])
def test_margin_bounds_hold_at_random_points_of_the_box(crown_weight):
    graph = _graph(1)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 3, 5, 9])
    box = input_box(x, 0.05)
    lower = margin_bounds(graph, box, labels, crown_weight).lower
    for _ in range(20):
        u = torch.rand(box.lower.shape, generator=g, dtype=torch.float64)
        point = box.lower + (box.upper - box.lower) * u
        assert (margins_at(graph.forward(point), labels) >= lower - 1e-9).all()
    corners = torch.where(torch.rand(box.lower.shape, generator=g) < 0.5, box.lower, box.upper)
    assert (margins_at(graph.forward(corners), labels) >= lower - 1e-9).all()


def test_bounds_are_the_margins_themselves_at_zero_radius():
    graph = _graph(3)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    labels = torch.tensor([1, 2, 3])
    for weight in (0.0, 1.0):
        lower = margin_bounds(graph, input_box(x, 0.0), labels, weight).lower
        assert torch.allclose(lower, margins_at(graph.forward(x), labels), atol=1e-10)


def test_crown_ibp_is_no_looser_than_plain_ibp_on_the_output_box():
    graph = _graph(4)
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    labels = torch.arange(5)
    box = input_box(x, 0.02)
    crown = margin_bounds(graph, box, labels, 1.0).lower
    C = margin_matrix(labels, 10, x)
    from core.bounds.ibp import interval_pass, linear_of_box
    from core.bounds.domains import Domains
    from core.bounds.plan import plan_for

    boxes, _ = interval_pass(plan_for(graph), Domains(box.lower, box.upper))
    naive = linear_of_box(boxes[graph.output_name], C, torch.zeros(5, 10, dtype=torch.float64))
    assert (crown >= naive - 1e-9).all() and (crown > naive + 1e-6).any()


def test_pre_activation_boxes_cover_every_relu_input():
    graph = _graph(5)
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    bounds = margin_bounds(graph, input_box(x, 0.1), torch.tensor([0, 1]))
    values = graph.forward(x, keep=True)
    relu_inputs = [n.inputs[0] for n in graph.nodes if type(n.op).__name__ == "Relu"]
    assert sorted(bounds.pre_activation) == sorted(relu_inputs)
    for name in relu_inputs:
        box = bounds.pre_activation[name]
        assert (box.lower <= values[name] + 1e-12).all() and (values[name] <= box.upper + 1e-12).all()
