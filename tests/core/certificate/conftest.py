"""Certificates shared by several test files (producing them costs seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from core.certificate import check
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.certify import certify
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


@pytest.fixture(scope="session")
def lemma_proof():
    """(layers, network, property, certificate): a 3-ReLU-layer net on [-1, 1]^5 whose
    property the root's α-CROWN bound refutes only over boxes narrowed by lemmas (seed 0:
    -1.21 without them, -0.99 with them, against d = -1.1; the exact minimum is -0.32),
    lemmas proven before any search."""
    layers = random_layers(np.random.default_rng(0), [5, 16, 16, 12, 1])
    prop = one_row_property(-np.ones(5), np.ones(5), np.ones(1), -1.1)
    network = load_network(onnx_bytes(layers))
    config = VerifyConfig(timeout_s=60, device="cpu", threads=1, branching="relu", search_before_lemmas=0)
    result = verify(network, prop, config)
    assert result.verdict is Verdict.UNSAT, result.message
    certified = certify(network, prop, result)
    assert certified.check.valid, certified.check.reason
    return layers, network, prop, certified.certificate
