"""Fixtures of the training tests: small networks and MNIST (the `mnist_path` of tests/conftest.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.training.data import Dataset, load_dataset


@pytest.fixture(scope="session")
def mnist(mnist_path) -> Dataset:
    return load_dataset("mnist", mnist_path)


def small_cnn(seed: int = 0) -> nn.Sequential:
    """Conv + BN + ReLU, Linear + BN + ReLU, Linear: every layer kind training converts, on 1×8×8 inputs."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))


def settle_batch_norm(model: nn.Sequential) -> None:
    """Give BatchNorm non-trivial running statistics and affine parameters."""
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.uniform_(-0.3, 0.3)
                layer.running_mean.uniform_(-0.2, 0.2)
                layer.running_var.uniform_(0.5, 2.0)
