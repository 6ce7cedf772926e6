"""Certificates with lemmas: the checker proves each lemma on the network cut at its layer,
narrows the root's boxes with it, and accepts a lemma only when the exact MILP agrees."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from core.certificate import Certificate, check
from tests.core.certificate.nets import exact_min

LOWER, UPPER = -np.ones(5), np.ones(5)
MILP_TOLERANCE = 1e-6


def _reason(network, prop, certificate) -> str:
    result = check(network.onnx_bytes, prop, certificate)
    return "" if result.valid else result.reason


def test_a_proof_that_needs_its_lemmas_checks_only_with_them(lemma_proof):
    _, network, prop, certificate = lemma_proof
    assert certificate.lemmas and all(lemma.proof.root == "lemmas" for lemma in certificate.lemmas)
    assert [target.root for target in certificate.targets] == ["lemmas"] and certificate.lemma_slopes[0]
    assert any(lemma.proof.n_nodes > 1 for lemma in certificate.lemmas), "no lemma needed a split"
    again = Certificate.load(certificate.to_bytes())
    assert [(a.layer, a.neuron, a.side, a.threshold, a.proof.n_leaves) for a in again.lemmas] == \
        [(a.layer, a.neuron, a.side, a.threshold, a.proof.n_leaves) for a in certificate.lemmas]
    assert check(network.onnx_bytes, prop, again).valid
    assert "not > 0" in _reason(network, prop, dataclasses.replace(certificate, lemmas=[]))


def test_every_lemma_the_checker_accepts_holds_by_the_exact_milp(lemma_proof):
    layers, _, _, certificate = lemma_proof
    for lemma in certificate.lemmas:
        direction = np.zeros(16)
        direction[lemma.neuron] = lemma.side
        # layers[:2] end at the lemma's z; HiGHS meets constraints to 1e-7, so its minimum may
        # fall that far below the true one (lemmas closed by an exact LP sit 1e-9 under it)
        assert exact_min(layers[:2], LOWER, UPPER, direction) >= lemma.threshold - MILP_TOLERANCE


def _tampered(certificate, k: int, **change) -> Certificate:
    tampered = copy.deepcopy(certificate)
    tampered.lemmas[k] = dataclasses.replace(tampered.lemmas[k], **change)
    return tampered


def test_a_lemma_claiming_more_than_holds_is_rejected(lemma_proof):
    layers, network, prop, certificate = lemma_proof
    lemma = certificate.lemmas[0]
    direction = np.zeros(16)
    direction[lemma.neuron] = lemma.side
    false_claim = exact_min(layers[:2], LOWER, UPPER, direction) + 1e-3
    reason = _reason(network, prop, _tampered(certificate, 0, threshold=false_claim))
    assert reason.startswith("lemma 0") and "not > 0" in reason


def test_a_lemma_with_its_side_flipped_is_accepted_only_when_true(lemma_proof):
    layers, network, prop, certificate = lemma_proof
    for k, lemma in enumerate(certificate.lemmas[:4]):
        direction = np.zeros(16)
        direction[lemma.neuron] = -lemma.side
        holds = exact_min(layers[:2], LOWER, UPPER, direction) >= lemma.threshold - MILP_TOLERANCE
        reason = _reason(network, prop, _tampered(certificate, k, side=-lemma.side))
        assert holds or reason.startswith(f"lemma {k}")


def test_a_lemma_proof_may_split_only_earlier_layers(lemma_proof):
    _, network, prop, certificate = lemma_proof
    k = next(k for k, lemma in enumerate(certificate.lemmas) if lemma.proof.n_nodes > 1)
    tampered = copy.deepcopy(certificate)
    tampered.lemmas[k].proof.split_layer[0] = 1  # the lemma's own layer
    assert "not in the network" in _reason(network, prop, tampered)


@pytest.mark.parametrize("change, words", [({"side": 0}, "side 0"), ({"neuron": 16}, "neuron 16"),
                                           ({"layer": "y"}, "not an activation layer"),
                                           ({"threshold": float("nan")}, "threshold nan")])
def test_a_lemma_that_names_nothing_real_is_rejected(lemma_proof, change, words):
    _, network, prop, certificate = lemma_proof
    reason = _reason(network, prop, _tampered(certificate, 0, **change))
    assert reason.startswith("lemma 0") and words in reason, reason
