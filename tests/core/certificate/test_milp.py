"""The checker never accepts a certificate for a property the exact MILP shows violated,
however the certificate was built; and it accepts honest ones for properties that hold."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from core.certificate import CertificateBuilder, check, network_digest, property_digest
from tests.core.certificate.nets import exact_min, onnx_bytes, one_row_property, random_layers
from tests.core.certificate.producer import produce

SIZES = [3, 8, 8, 2]


def _instance(seed: int, shift: float):
    """A random network and a one-row property whose threshold is the exact minimum + shift."""
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, SIZES)
    lower, upper = -np.ones(3), np.ones(3)
    c = rng.normal(size=SIZES[-1])
    m = exact_min(layers, lower, upper, c)
    return rng, layers, onnx_bytes(layers), one_row_property(lower, upper, c, m + shift)


def _builder(data, prop):
    return CertificateBuilder(network_digest(data), property_digest(prop), [f"relu{i}" for i in range(len(SIZES) - 2)])


def _full_input_tree(target, node: int, lower, upper, depth: int) -> None:
    """Bisect the widest dimension `depth` times everywhere; close every leaf with defaults."""
    if depth == 0:
        target.close(node)
        return
    dim = int(np.argmax(upper - lower))
    cut = (lower[dim] + upper[dim]) / 2
    left, right = target.split(node, ("input", dim, cut))
    _full_input_tree(target, left, lower, np.where(np.arange(len(upper)) == dim, cut, upper), depth - 1)
    _full_input_tree(target, right, np.where(np.arange(len(lower)) == dim, cut, lower), upper, depth - 1)


def _random_relu_tree(rng, target, node: int, neurons: list[int], k: int) -> None:
    """Split on each listed first-layer neuron in turn; close leaves with wild parameters."""
    if not neurons:
        alpha = {f"relu{i}": rng.uniform(-2, 3, (k, n)) for i, n in enumerate(SIZES[1:-1])}
        beta = {f"relu{i}": rng.exponential(20.0, (k, n)) for i, n in enumerate(SIZES[1:-1])}
        target.close(node, alpha=alpha, beta=beta)
        return
    for child in target.split(node, ("relu", "relu0", neurons[0])):
        _random_relu_tree(rng, target, child, neurons[1:], k)


@pytest.mark.parametrize("seed", range(8))
def test_no_attempt_proves_a_violated_property(seed):
    rng, layers, data, prop = _instance(seed, shift=0.02)
    attempts = []
    builder = _builder(data, prop)
    _full_input_tree(builder.target(0, 0), 0, prop.regions[0].box.lower, prop.regions[0].box.upper, 6)
    attempts.append(builder.finish())
    for _ in range(3):
        builder = _builder(data, prop)
        _random_relu_tree(rng, builder.target(0, 0), 0, list(rng.choice(SIZES[1], 3, replace=False)), 1)
        attempts.append(builder.finish())
    builder = _builder(data, prop)
    builder.target(0, 0).close(0, rows=rng.uniform(0, 5, (1, 1)))
    attempts.append(builder.finish())
    for attempt in attempts:
        result = check(data, prop, attempt)
        assert not result.valid and "not > 0" in result.reason, result


@pytest.mark.parametrize("seed", range(8))
def test_a_proof_of_a_nearby_safe_property_does_not_transfer(seed):
    _, layers, data, safe = _instance(seed, shift=-0.05)
    certificate = produce(data, safe, "input", 20000)
    assert check(data, safe, certificate).valid
    violated = one_row_property(safe.regions[0].box.lower, safe.regions[0].box.upper,
                                safe.regions[0].unsafe[0].C[0], float(safe.regions[0].unsafe[0].d[0]) + 0.07)
    certificate.property_sha256 = property_digest(violated)
    result = check(data, violated, certificate)
    assert not result.valid and "not > 0" in result.reason


def test_relu_split_proofs_with_lp_multipliers_are_accepted_and_need_them(relu_split):
    data, prop, certificate = relu_split
    target = copy.deepcopy(certificate).targets[0]
    assert len(target.split_node) and target.beta and target.rows is not None
    stripped = copy.deepcopy(certificate)
    stripped.targets[0].beta = {}
    result = check(data, prop, stripped)
    assert not result.valid and "not > 0" in result.reason
