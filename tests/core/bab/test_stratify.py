"""Stratified bounding (core.bab.stratify): Active Set on the open domains near the top of a
ReLU-split tree closes some of them, the verdict stays the same, and the leaves it closed carry
the multipliers the certificate checker needs."""

import copy

import numpy as np
import pytest
import torch

from core.bab.stratify import DualStage
from core.bounds.beta import with_beta
from core.certificate import check
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.certify import certify
from tests.core.bounds import nets
from tests.core.certificate.nets import below_the_minimum, onnx_bytes, random_layers


@pytest.fixture(scope="module")
def hard_enough():
    """20 inputs (so ReLUs are split), three layers of 16, a threshold 0.02 under the exact minimum."""
    rng = np.random.default_rng(3)
    layers = random_layers(rng, [20, 16, 16, 16, 1])
    prop = below_the_minimum(layers, 0.02)
    return load_network(onnx_bytes(layers)), prop


def _run(network, prop, mode: str):
    # no lemmas: they start after a share of the time, so under load one run could have them
    # and the other not (CI, 6 Dec 2026: 336 leaves with Active Set and lemmas, 314 without either)
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu", threads=1, dual_bounding=mode,
                                                dual_share=1.0, lemma_domains=0))
    return result, certify(network, prop, result)


def test_active_set_closes_leaves_that_the_certificate_needs(hard_enough):
    network, prop = hard_enough
    plain, plain_proof = _run(network, prop, "off")
    dual, dual_proof = _run(network, prop, "active-set")
    assert plain.verdict is dual.verdict is Verdict.UNSAT
    assert plain_proof.check.valid and dual_proof.check.valid, dual_proof.check.reason
    target = dual_proof.certificate.targets[0]
    assert target.n_leaves < plain_proof.certificate.targets[0].n_leaves
    cut = next(iter(target.anderson.values()))["cut"]
    assert np.isfinite(cut).any(axis=(1, 2)).sum() > 0, "no leaf was closed by the Anderson duals"
    stripped = copy.deepcopy(dual_proof.certificate)
    stripped.targets[0].anderson = {}
    assert not check(network.onnx_bytes, prop, stripped).valid


def _stage(model: bytes, **config) -> DualStage:
    graph = nets.load(model)
    return DualStage(graph, with_beta(graph), VerifyConfig(**config))


def test_stage_picks_open_shallow_domains_within_its_share():
    stage = _stage(nets.fc_net(0, 3, [6, 6], 2), dual_bounding="active-set", dual_max_depth=2, dual_share=0.5)
    split = torch.tensor([[0, 0, 0], [1, -1, 0], [1, 1, -1]], dtype=torch.int8)
    lb = torch.tensor([-1.0, -0.5, -0.1])
    assert stage.pick(split, lb, 0.0).tolist() == [True, True, False]  # the third is 3 splits deep
    assert stage.pick(split, torch.tensor([0.5, -0.5, -0.1]), 0.0).tolist() == [False, True, False]  # closed already
    stage.spent = 1e9  # over its share of the search's time: nothing more
    assert not stage.pick(split, lb, 0.0).any()


@pytest.mark.parametrize("mode", ["off", "auto", "active-set"])
def test_stage_is_off_where_the_network_is_not_a_chain(mode):
    stage = _stage(nets.residual_net(1, 3, 4, 2), dual_bounding=mode)
    assert stage.method == "off"
    split = torch.zeros(2, 8, dtype=torch.int8)
    assert not stage.pick(split, torch.tensor([-1.0, -1.0]), 0.0).any()


def test_auto_means_active_set_on_a_chain():
    assert _stage(nets.fc_net(0, 3, [6, 6], 2), dual_bounding="auto").method == "active-set"
