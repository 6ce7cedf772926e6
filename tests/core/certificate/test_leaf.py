"""`network_boxes` on a batch: each domain bounds only its own unstable neurons, in groups
by count (`leaf._groups`), so a domain's boxes must not depend on the batch around it."""

from __future__ import annotations

import numpy as np
import pytest

from core.certificate import leaf
from core.certificate.leaf import network_boxes
from core.certificate.network import chain_of, read_onnx
from core.certificate.tree import Domains
from tests.core.certificate.nets import onnx_bytes, random_layers


def _domains(lower, upper, chain):
    free = {chain.steps[i].name: np.zeros((len(lower), chain.sizes[i]), bool) for i in chain.relus.values()}
    return Domains(lower, upper, free, {k: v.copy() for k, v in free.items()})


def test_a_domains_boxes_are_the_same_alone_as_in_a_batch(monkeypatch):
    monkeypatch.setattr(leaf, "CALL_COST", 1)  # as many groups as allowed, so padding and grouping both happen
    rng = np.random.default_rng(0)
    chain = chain_of(read_onnx(onnx_bytes(random_layers(rng, [4, 24, 24, 24, 2])))[1])
    centre = rng.uniform(-1, 1, (40, 4))
    radius = 10.0 ** rng.uniform(-3, 0, (40, 1))  # from nearly all stable to nearly all unstable
    lower, upper = centre - radius, centre + radius
    batch = network_boxes(chain, _domains(lower, upper, chain))
    unstable = [int(((lo < 0) & (hi > 0)).sum()) for lo, hi in zip(*batch.boxes[chain.relus["relu1"]])]
    assert len(set(unstable)) > 5  # the batch does mix counts
    for k in range(len(lower)):
        alone = network_boxes(chain, _domains(lower[k:k + 1], upper[k:k + 1], chain))
        for (lo, hi), (lo1, hi1) in zip(batch.boxes, alone.boxes):
            np.testing.assert_allclose(lo[k], lo1[0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(hi[k], hi1[0], rtol=1e-12, atol=1e-12)


def test_unit_rows_read_the_matrix_rows_and_bound_as_the_dense_rows_do(monkeypatch):
    from core.certificate.soundness import UnitRows, backward

    rng = np.random.default_rng(1)
    chain = chain_of(read_onnx(onnx_bytes(random_layers(rng, [4, 24, 24, 2])))[1])
    lower = rng.uniform(-1, 0, (6, 4))
    net = network_boxes(chain, _domains(lower, lower + 0.5, chain))
    i = chain.relus["relu1"]
    assert i - 1 in chain.runs  # the Gemm before the ReLU: the unit rows take the row-reading path
    neurons = rng.integers(0, 24, (6, 5))
    signs = rng.choice([-1.0, 1.0], (6, 5))
    unit = UnitRows(neurons, signs, 24)
    dense = unit.dense()
    assert np.array_equal(np.abs(dense).sum(axis=2), np.ones((6, 5)))
    slow = backward(chain.steps, net.boxes, dense, i, net.relax, {}, chain.runs)
    monkeypatch.setattr(UnitRows, "dense", lambda self: pytest.fail("the unit rows were multiplied out"))
    fast = backward(chain.steps, net.boxes, unit, i, net.relax, {}, chain.runs)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
