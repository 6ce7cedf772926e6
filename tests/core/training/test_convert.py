"""Module -> IR conversion: BatchNorm folded exactly as torch computes it, in both modes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from core.training.convert import UnsupportedLayer, to_graph
from tests.core.training.conftest import settle_batch_norm, small_cnn


def test_training_mode_matches_torch_and_updates_running_statistics_like_batch_norm():
    model = small_cnn(0)
    settle_batch_norm(model)
    twin = copy.deepcopy(model)
    model.train(), twin.train()
    x = torch.rand(32, 1, 8, 8)
    folded = to_graph(model, (1, 8, 8), x)
    expected = twin(x)
    assert torch.allclose(folded.logits, expected, atol=1e-5)
    assert torch.allclose(folded.graph.forward(x), expected, atol=1e-5)
    for ours, theirs in zip(model, twin):
        if isinstance(ours, nn.BatchNorm2d | nn.BatchNorm1d):
            assert torch.allclose(ours.running_mean, theirs.running_mean, atol=1e-6)
            assert torch.allclose(ours.running_var, theirs.running_var, atol=1e-5)
            assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 1


def test_eval_mode_uses_running_statistics():
    model = small_cnn(1)
    settle_batch_norm(model)
    model.eval()
    x = torch.rand(5, 1, 8, 8)
    graph = to_graph(model, (1, 8, 8)).graph
    assert torch.allclose(graph.forward(x), model(x), atol=1e-5)
    assert [type(n.op).__name__ for n in graph.nodes] == ["Conv", "Relu", "Reshape", "Linear", "Relu", "Linear"]


def test_gradients_reach_batch_norm_parameters_through_the_graph():
    model = small_cnn(2)
    model.train()
    x = torch.rand(8, 1, 8, 8)
    to_graph(model, (1, 8, 8), x).graph.forward(x).square().sum().backward()
    assert model[1].weight.grad.abs().sum() > 0 and model[0].weight.grad.abs().sum() > 0


def test_training_mode_without_a_batch_is_refused():
    model = small_cnn(3)
    model.train()
    with pytest.raises(ValueError, match="needs the clean batch"):
        to_graph(model, (1, 8, 8))


@pytest.mark.parametrize("layers, message", [
    ([nn.Flatten(), nn.Tanh()], "Tanh: not a layer"),
    ([nn.BatchNorm2d(1)], "must follow a Linear or Conv2d"),
    ([nn.Conv2d(1, 2, 3, padding="same")], "explicit zero padding"),
])
def test_unsupported_layers_are_named(layers, message):
    model = nn.Sequential(*layers).eval()
    with pytest.raises(UnsupportedLayer, match=message):
        to_graph(model, (1, 8, 8))
