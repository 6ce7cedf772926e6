"""Certificates shared by several test files (producing them costs seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from core.certificate import check
from tests.core.certificate.nets import exact_min, onnx_bytes, one_row_property, random_layers
from tests.core.certificate.producer import produce


@pytest.fixture(scope="session")
def input_split():
    """(onnx bytes, property, certificate): a random 3-8-8-2 net, proved by input splitting."""
    rng = np.random.default_rng(3)
    layers = random_layers(rng, [3, 8, 8, 2])
    lower, upper, c = -np.ones(3), np.ones(3), rng.normal(size=2)
    data = onnx_bytes(layers)
    prop = one_row_property(lower, upper, c, exact_min(layers, lower, upper, c) - 0.05)
    certificate = produce(data, prop, "input", 20000)
    assert certificate.targets[0].n_leaves > 8 and check(data, prop, certificate).valid
    return data, prop, certificate


@pytest.fixture(scope="session")
def relu_split():
    """(onnx bytes, property, certificate): a random 2-5-5-1 net, proved by ReLU splitting
    with leaves closed by α-CROWN and by LP duals (β and row weights)."""
    rng = np.random.default_rng(2)
    layers = random_layers(rng, [2, 5, 5, 1])
    lower, upper, c = -np.ones(2), np.ones(2), np.ones(1)
    data = onnx_bytes(layers)
    prop = one_row_property(lower, upper, c, exact_min(layers, lower, upper, c) - 0.05)
    certificate = produce(data, prop, "relu", 500)
    assert check(data, prop, certificate).valid
    return data, prop, certificate
