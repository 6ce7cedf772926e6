"""Sparse backward-pass coefficients (core/certificate/sparse_rows.py): the bounds of the
dense pass up to summation order, never above the sampled minimum, whatever the
parameters, and the caller's coefficients never written to. (HiGHS's MILP fails on
these nearly empty networks, so sampling stands in for it; the dense pass is checked
against the MILP in test_soundness.py.)"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from scipy import sparse

from core.certificate import network, sparse_rows
from core.certificate.leaf import leaf_lower_bounds, network_boxes
from core.certificate.network import Relu, chain_of
from core.certificate.soundness import backward
from core.certificate.sparse_rows import SparseRows
from core.certificate.tree import Domains
from core.spec.property import Conjunction
from tests.core.certificate.nets import forward, onnx_bytes, random_layers

SIZES = [3, 10, 10, 8, 2]


def _sparse_layers(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """Layers with most weights 0, so backward rows touch few neurons (as tllverifybench's)."""
    return [(np.where(rng.random(W.shape) < 0.3, W, 0.0), b) for W, b in random_layers(rng, SIZES)]


def _bounds(layers, domains, conjunction, params, monkeypatch, sparse: bool):
    """Every pass's boxes and the leaf's bound, with sparse coefficients (and weights) everywhere
    or nowhere."""
    with monkeypatch.context() as patch:
        patch.setattr(sparse_rows, "SPARSE_DENSITY", 1.0 if sparse else -1.0)
        patch.setattr(sparse_rows, "SPARSE_MIN_WIDTH", 0)
        if sparse:  # the file's matrices read as sparse too, so unit rows come from sparse rows
            patch.setattr(network, "SPARSE_MIN_ENTRIES", 0)
            patch.setattr(network, "SPARSE_MAX_DENSITY", 1.0)
        chain = chain_of(onnx.load_model_from_string(onnx_bytes(layers)))
        made = []
        patch.setattr(SparseRows, "__init__", _counting(SparseRows.__init__, made))
        boxes = network_boxes(chain, domains)
        bound = leaf_lower_bounds(chain, conjunction, boxes, params)[0]
    return boxes, bound, len(made)


def _counting(init, made: list):
    def counted(self, *args):
        made.append(1)
        init(self, *args)
    return counted


@pytest.mark.parametrize("seed", range(10))
def test_sparse_coefficients_give_the_dense_bounds_and_stay_under_the_sampled_minimum(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    layers = _sparse_layers(rng)
    lower = rng.uniform(-1, 0, SIZES[0])
    upper = lower + rng.uniform(0.1, 1.5, SIZES[0])
    relus = {f"relu{i}": np.zeros((1, n), bool) for i, n in enumerate(SIZES[1:-1])}
    domains = Domains(lower[None], upper[None], relus, {k: v.copy() for k, v in relus.items()})
    conjunction = Conjunction(rng.normal(size=(2, SIZES[-1])), rng.normal(0, 0.3, 2))
    outputs = forward(layers, rng.uniform(lower, upper, (20000, SIZES[0])))
    sampled = (outputs @ conjunction.C.T - conjunction.d).max(axis=1).min()
    for trial in range(3):
        # slopes far outside [0, 1]; multipliers on some layers only (those ReLUs run dense)
        params = {"rows": rng.dirichlet([1, 1], (1, 3))}
        for i, n in enumerate(SIZES[1:-1]):
            params[f"alpha:relu{i}"] = rng.uniform(-3, 4, (1, 3, n))
            if trial == 2 and i == 1:
                params[f"beta:relu{i}"] = rng.uniform(0, 2, (1, 3, n))
        dense_boxes, dense, _ = _bounds(layers, domains, conjunction, params, monkeypatch, sparse=False)
        sparse_boxes, sparse, made = _bounds(layers, domains, conjunction, params, monkeypatch, sparse=True)
        assert made > 0  # the sparse steps did run
        assert sparse <= sampled, (trial, sparse, sampled)
        assert sparse == pytest.approx(dense, rel=1e-9, abs=1e-12)
        for (lo, hi), (dlo, dhi) in zip(sparse_boxes.boxes, dense_boxes.boxes):
            np.testing.assert_allclose(lo, dlo, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(hi, dhi, rtol=1e-9, atol=1e-12)


def test_a_dense_pass_leaves_the_callers_coefficients_as_they_were(monkeypatch):
    """`SparseRows.of` hands back the very array it was given when it stays dense, and the
    dense ReLU step writes in place only into arrays the pass made itself."""
    rng = np.random.default_rng(0)
    layers = _sparse_layers(rng)
    chain = chain_of(onnx.load_model_from_string(onnx_bytes(layers)))
    lo = rng.uniform(-1, 0, (1, SIZES[0]))
    boxes = network_boxes(chain, Domains(lo, lo + 1.0, *[{f"relu{i}": np.zeros((1, n), bool)
                                                          for i, n in enumerate(SIZES[1:-1])}] * 2))
    lam = rng.normal(size=(1, 2, SIZES[-2]))
    monkeypatch.setattr(sparse_rows, "SPARSE_MIN_WIDTH", 0)  # whatever the width, judged by its density
    assert SparseRows.of(lam, 1, 2) is lam
    given = lam.copy()
    monkeypatch.setattr(sparse_rows, "SPARSE_DENSITY", -1.0)
    end = max(i for i, step in enumerate(chain.steps) if isinstance(step, Relu)) + 1  # from the last ReLU's output
    relax = {i: tuple(np.asarray(v) for v in (np.full_like(b[0], 0.5)[:, None], np.zeros_like(b[0])[:, None],
                                              np.full_like(b[0], 0.5)[:, None], np.ones_like(b[0])[:, None]))
             for i, b in enumerate(boxes.boxes) if isinstance(chain.steps[i], Relu)}
    backward(chain.steps, list(boxes.boxes), lam, end, relax, {}, chain.runs)
    np.testing.assert_array_equal(lam, given)


def test_new_values_leave_the_old_coefficients_intact():
    """`with_data` drops the zeros it is given without touching the pattern it copied."""
    before = np.array([[[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]])
    lam = SparseRows(sparse.csr_array(before.reshape(2, 3)), 1, 2)
    after = lam.with_data(np.array([0.0, 5.0, 0.0]))
    np.testing.assert_array_equal(lam.dense(), before)
    np.testing.assert_array_equal(after.dense(), [[[0.0, 0.0, 5.0], [0.0, 0.0, 0.0]]])
    assert after.matrix.nnz == 1
