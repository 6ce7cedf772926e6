"""Architectures by name, with BatchNorm after every hidden layer and the IBP initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from core.training.architectures import build, ibp_init


@pytest.mark.parametrize("arch", ["mlp", "cnn-small", "cnn-medium", "cnn7"])
def test_every_architecture_builds_for_mnist_and_cifar(arch):
    for shape in ((1, 28, 28), (3, 32, 32)):
        model = build(arch, shape).eval()
        assert model(torch.zeros(2, *shape)).shape == (2, 10)
        layers = list(model)
        hidden = [k for k, layer in enumerate(layers[:-1]) if isinstance(layer, nn.Linear | nn.Conv2d)]
        assert all(isinstance(layers[k + 1], nn.BatchNorm1d | nn.BatchNorm2d) for k in hidden)
        assert isinstance(layers[-1], nn.Linear)


def test_ibp_init_has_the_stated_variance_and_zero_biases():
    torch.manual_seed(0)
    linear, conv = nn.Linear(400, 300), nn.Conv2d(8, 64, 5)
    ibp_init(nn.Sequential(linear, conv))
    for layer, fan_in in ((linear, 400), (conv, 8 * 25)):
        sigma = math.sqrt(2 * math.pi) / fan_in
        std = float(layer.weight.detach().std())
        assert abs(std - sigma) < 0.03 * sigma, (std, sigma)
        assert abs(float(layer.weight.detach().mean())) < 0.05 * sigma
        assert torch.count_nonzero(layer.bias) == 0


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build("resnet", (1, 28, 28))
