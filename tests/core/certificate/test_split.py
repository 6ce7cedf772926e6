"""A certificate's check split by subtree (`check --workers N`): the same verdict as the
whole check, every leaf and every lemma checked by exactly one part, a tampered leaf or
lemma found by its part."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.certificate import check
from core.certificate.split import (MIN_LEMMAS_PER_PART, MIN_NODES_PER_PART, WEIGHTS_PER_NODE, check_split, labels_of,
                                   plan_of, weights_of, worth_splitting)
from core.spec.writer import format_vnnlib
from tests.core.certificate.nets import exact_min


@pytest.mark.parametrize("fixture", ["input_split", "relu_split"])
def test_a_split_check_accepts_what_the_whole_check_accepts(request, fixture):
    data, prop, certificate = request.getfixturevalue(fixture)
    whole = check(data, prop, certificate)
    split = check_split(data, prop, certificate, 2, min_nodes_per_part=0)
    assert whole.valid and split.valid, (whole, split)
    assert split.leaves == whole.leaves  # each leaf checked once, by one part


def test_every_leaf_has_one_part_and_the_parts_share_the_work(input_split):
    target = input_split[2].targets[0]
    labels = labels_of(target, 2)
    leaves = labels[np.asarray(target.leaf_node)]
    assert set(leaves.tolist()) == {0, 1}
    assert np.all(labels[np.asarray(target.split_node)] >= -1)
    counts = np.bincount(leaves)
    assert counts.min() >= counts.sum() / 4, counts


def test_a_tampered_leaf_in_the_second_part_is_rejected(input_split):
    data, prop, certificate = input_split
    target = certificate.targets[0]
    labels = labels_of(target, 2)
    row = int(np.flatnonzero(labels[np.asarray(target.leaf_node)] == 1)[0])
    rows = np.broadcast_to(np.eye(1), (target.n_leaves, 1, 1)).copy() if target.rows is None else target.rows.copy()
    rows[row] = 0.0  # that leaf's bound combines no constraint: 0, not > 0
    tampered = dataclasses.replace(certificate, targets=[dataclasses.replace(target, rows=rows)])
    whole, split = check(data, prop, tampered), check_split(data, prop, tampered, 2, min_nodes_per_part=0)
    assert not whole.valid and not split.valid
    assert split.reason == whole.reason and f"leaf {int(target.leaf_node[row])}" in split.reason


def test_lemma_proofs_are_dealt_to_the_parts_and_a_false_lemma_is_found_by_its_part(lemma_proof):
    layers, network, prop, certificate = lemma_proof
    data = network.onnx_bytes
    plan = plan_of(certificate, 2)
    assert len(plan.lemmas) == len(certificate.lemmas) and set(plan.lemmas.tolist()) == {0, 1}
    whole = check(data, prop, certificate)
    parts = [check(data, prop, certificate, part=(k, plan)) for k in (0, 1)]
    assert whole.valid and all(p.valid for p in parts)
    assert sum(p.leaves for p in parts) == whole.leaves  # each lemma's leaves checked once
    assert check_split(data, prop, certificate, 2, min_nodes_per_part=0).valid
    for k in (0, 1):  # a lemma claiming more than the exact MILP allows, in either part
        n = int(np.flatnonzero(plan.lemmas == k)[0])
        lemma = certificate.lemmas[n]
        direction = np.zeros(16)
        direction[lemma.neuron] = lemma.side
        false = exact_min(layers[:2], -np.ones(5), np.ones(5), direction) + 1e-3
        lemmas = [dataclasses.replace(a, threshold=false) if i == n else a for i, a in enumerate(certificate.lemmas)]
        tampered = dataclasses.replace(certificate, lemmas=lemmas)
        results = [check(data, prop, tampered, part=(j, plan)) for j in (0, 1)]
        assert [r.valid for r in results] == [j != k for j in (0, 1)], [r.reason for r in results]
        assert results[k].reason.startswith(f"lemma {n}")


def test_many_lemmas_make_a_check_worth_splitting(lemma_proof):
    certificate, never_by_nodes = lemma_proof[3], 10**9
    parts = len(certificate.lemmas) // MIN_LEMMAS_PER_PART + 1  # more parts than its lemmas fill
    assert not worth_splitting(certificate, max(2, parts), never_by_nodes)
    enough = dataclasses.replace(certificate, lemmas=certificate.lemmas * (2 * MIN_LEMMAS_PER_PART))
    assert worth_splitting(enough, 2, never_by_nodes)


def test_small_trees_are_checked_whole(input_split):
    data, prop, certificate = input_split
    assert not worth_splitting(certificate, 2, certificate.targets[0].n_nodes)
    assert check_split(data, prop, certificate, 2, min_nodes_per_part=certificate.targets[0].n_nodes).valid


def test_a_network_with_many_weights_makes_a_small_tree_worth_splitting(input_split):
    data, prop, certificate = input_split
    assert weights_of(data) == 3 * 8 + 8 * 8 + 8 * 2  # the 3-8-8-2 net's matrices, not its biases
    assert weights_of(gzip.compress(data)) == weights_of(data) and weights_of(b"not onnx") == 0
    nodes = certificate.targets[0].n_nodes
    assert nodes < 2 * MIN_NODES_PER_PART and not worth_splitting(certificate, 2, weights=weights_of(data))
    heavy = WEIGHTS_PER_NODE * -(-2 * MIN_NODES_PER_PART // nodes)  # each node now counts this many times over
    assert worth_splitting(certificate, 2, weights=heavy)
    assert not worth_splitting(certificate, 2, weights=heavy // 4)


def test_check_command_with_workers(input_split, tmp_path):
    data, prop, certificate = input_split
    (tmp_path / "net.onnx").write_bytes(data)
    (tmp_path / "prop.vnnlib").write_text(format_vnnlib(prop))
    certificate.save(tmp_path / "proof.cert")
    out = CliRunner().invoke(cli, ["check", str(tmp_path / "net.onnx"), str(tmp_path / "prop.vnnlib"),
                                   str(tmp_path / "proof.cert"), "--workers", "2"])
    assert out.exit_code == 0 and out.output.startswith("valid"), out.output
