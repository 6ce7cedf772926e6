"""Heads as blocks of one Linear layer: each task's graph computes its block, and its bounds are sound."""

import torch

from core.training.bounds import input_box, margin_bounds
from core.training.losses import margins_at
from core.training.multitask.network import build_network, shared_and_specific, step_graphs, task_graph
from core.training.convert import to_graph


def test_task_logits_are_the_blocks_of_the_whole_networks_output():
    torch.manual_seed(0)
    model = build_network("cnn-small", (1, 28, 28), heads=3)
    x = torch.rand(5, 1, 28, 28)
    step = step_graphs(model, (1, 28, 28), x, heads=3, tasks=3)
    model.eval()
    whole = to_graph(model, (1, 28, 28)).graph
    assert torch.allclose(torch.cat(step.logits, 1), model.train()(x), atol=1e-5)
    with torch.no_grad():
        for t in range(3):
            assert torch.allclose(task_graph(whole, t, 3).forward(x), whole.forward(x)[:, 10 * t:10 * t + 10])


def test_shared_head_parameters_count_as_shared():
    model = build_network("mlp", (1, 28, 28), heads=1)
    shared, specific = shared_and_specific(model, 1)
    assert specific == [] and shared[-1] is model[-1].bias
    shared, specific = shared_and_specific(build_network("mlp", (1, 28, 28), heads=2), 2)
    assert len(specific) == 2


def test_task_bounds_hold_on_sampled_points():
    torch.manual_seed(1)
    model = build_network("mlp", (1, 28, 28), heads=2).double()
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    labels = torch.tensor([1, 2, 3, 4])
    step = step_graphs(model, (1, 28, 28), x, heads=2, tasks=2, dropout=0.3, generator=torch.Generator().manual_seed(0))
    box = input_box(x, 0.02)
    for graph in step.graphs:
        lower = margin_bounds(graph, box, labels).lower.detach()
        for _ in range(20):
            point = box.lower + (box.upper - box.lower) * torch.rand_like(x)
            assert (margins_at(graph.forward(point), labels).detach() >= lower - 1e-9).all()
