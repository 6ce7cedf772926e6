"""Tampered certificates are rejected with the first reason; clamped parameters are only
accepted when the bound they give truly holds."""

from __future__ import annotations

import copy
import gzip

import numpy as np
import onnx
from onnx import numpy_helper

from core.certificate import check, network_digest, property_digest
from core.spec import load_property
from tests.core.certificate.nets import one_row_property
from tests.core.certificate.producer import produce


def _rejected(data, prop, certificate, words: str) -> None:
    result = check(data, prop, certificate)
    assert not result.valid and words in result.reason, result.reason


def test_flipping_a_split_side_leaves_a_split_uncovered(input_split):
    data, prop, certificate = input_split
    tampered = copy.deepcopy(certificate)
    tampered.targets[0].side[2] = 1 - tampered.targets[0].side[2]
    _rejected(data, prop, tampered, "exactly one child on each side")


def test_dropping_a_leaf_is_noticed(input_split):
    data, prop, certificate = input_split
    tampered = copy.deepcopy(certificate)
    target = tampered.targets[0]
    target.leaf_node = target.leaf_node[1:]
    _rejected(data, prop, tampered, f"leaf {certificate.targets[0].leaf_node[0]} is not closed")


def test_dropping_a_leaf_node_from_the_tree_is_noticed(input_split):
    data, prop, certificate = input_split
    tampered = copy.deepcopy(certificate)
    target = tampered.targets[0]
    last = target.n_nodes - 1
    target.parent, target.side = target.parent[:-1], target.side[:-1]
    target.leaf_node = target.leaf_node[target.leaf_node != last]
    _rejected(data, prop, tampered, "exactly one child on each side")


def test_moving_an_input_cut_outside_the_box_breaks_a_leaf(input_split):
    data, prop, certificate = input_split
    tampered = copy.deepcopy(certificate)
    tampered.targets[0].split_cut[0] = 5.0  # the right child is now empty, the left one the whole box
    _rejected(data, prop, tampered, "not > 0")
    tampered.targets[0].split_cut[0] = np.nan
    _rejected(data, prop, tampered, "out of range")


def test_multipliers_past_their_range_are_clamped(relu_split):
    data, prop, certificate = relu_split
    tampered = copy.deepcopy(certificate)
    tampered.targets[0].beta = {k: -np.abs(v) - 1e6 for k, v in tampered.targets[0].beta.items()}
    _rejected(data, prop, tampered, "not > 0")  # negative multipliers count as 0, and the proof needs them
    for value in (7.0, -3.0):
        wild = copy.deepcopy(certificate)
        clamped = copy.deepcopy(certificate)
        for target_w, target_c in zip(wild.targets, clamped.targets):
            shape = (target_w.n_leaves, 1, 5)
            target_w.alpha = {name: np.full(shape, value) for name in ("relu0", "relu1")}
            target_c.alpha = {name: np.full(shape, float(np.clip(value, 0, 1))) for name in ("relu0", "relu1")}
        assert check(data, prop, wild).valid == check(data, prop, clamped).valid


def test_parameters_of_the_wrong_shape_are_refused(relu_split):
    data, prop, certificate = relu_split
    tampered = copy.deepcopy(certificate)
    name = next(iter(tampered.targets[0].beta))
    tampered.targets[0].beta[name] = tampered.targets[0].beta[name][:, :, :2]
    _rejected(data, prop, tampered, f"beta for '{name}' has shape")


def test_changing_one_weight_is_noticed_even_with_the_digest_rebound(input_split):
    data, prop, certificate = input_split
    model = onnx.load_model_from_string(data)
    last = model.graph.initializer[-1]  # the output bias
    bias = numpy_helper.to_array(last).copy()
    c = prop.regions[0].unsafe[0].C[0]
    bias -= 100.0 * np.sign(c)  # lowers c·y by 100·|c|_1: the property becomes violated
    last.CopyFrom(numpy_helper.from_array(bias, last.name))
    changed = model.SerializeToString()
    _rejected(changed, prop, certificate, "another network")
    rebound = copy.deepcopy(certificate)
    rebound.network_sha256 = network_digest(changed)
    _rejected(changed, prop, rebound, "not > 0")


def test_changing_one_weight_of_a_shared_network(benchmarks_dir):
    data = gzip.decompress((benchmarks_dir / "test/onnx/test_small.onnx.gz").read_bytes())
    prop = load_property(benchmarks_dir / "test/vnnlib/test_small.vnnlib.gz")
    certificate = produce(data, prop, "input")
    assert check(data, prop, certificate).valid
    model = onnx.load_model_from_string(data)
    weight = model.graph.initializer[0]
    values = numpy_helper.to_array(weight).copy()
    values.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    _rejected(model.SerializeToString(), prop, certificate, "another network")


def test_swapping_the_property_is_noticed(input_split):
    data, prop, certificate = input_split
    other = one_row_property(prop.regions[0].box.lower, prop.regions[0].box.upper * 2,
                             prop.regions[0].unsafe[0].C[0], float(prop.regions[0].unsafe[0].d[0]))
    _rejected(data, other, certificate, "another property")


def test_every_disjunct_needs_exactly_one_proof(input_split):
    data, prop, certificate = input_split
    doubled = copy.deepcopy(certificate)
    doubled.targets.append(copy.deepcopy(doubled.targets[0]))
    _rejected(data, prop, doubled, "repeated")
    empty = copy.deepcopy(certificate)
    empty.targets = []
    _rejected(data, prop, empty, "region 0 disjunct 0 has no proof")


def test_pre_activation_bounds_a_verifier_reused_are_reproduced(input_split):
    data, prop, _ = input_split
    certificate = produce(data, prop, "reuse", 20000)
    target = certificate.targets[0]
    assert target.pre_lower and np.isfinite(next(iter(target.pre_lower.values()))).any()
    assert check(data, prop, certificate).valid
    stripped = copy.deepcopy(certificate)
    stripped.targets[0].pre_lower, stripped.targets[0].pre_upper = {}, {}
    _rejected(data, prop, stripped, "not > 0")  # on this instance the reused bounds are what close a leaf


def test_claimed_bounds_can_only_widen_what_is_proven(input_split):
    data, prop, certificate = input_split
    claimed = copy.deepcopy(certificate)
    target = claimed.targets[0]
    for name, size in (("relu0", 8), ("relu1", 8)):
        # "every neuron is exactly 1": were it believed, the network would be affine and tiny
        target.pre_lower[name] = np.ones((target.n_leaves, size))
        target.pre_upper[name] = np.ones((target.n_leaves, size))
    violated = one_row_property(prop.regions[0].box.lower, prop.regions[0].box.upper,
                                prop.regions[0].unsafe[0].C[0], float(prop.regions[0].unsafe[0].d[0]) + 0.07)
    claimed.property_sha256 = property_digest(violated)
    _rejected(data, violated, claimed, "not > 0")


def test_malformed_arrays_are_reasons_not_crashes(input_split):
    data, prop, certificate = input_split
    short = copy.deepcopy(certificate)
    short.targets[0].split_kind = short.targets[0].split_kind[:-1]
    _rejected(data, prop, short, "five columns of one length")
    flat = copy.deepcopy(certificate)
    flat.targets[0].leaf_node = flat.targets[0].leaf_node.astype(np.float64) + 0.5
    _rejected(data, prop, flat, "leaf_node does not hold integers")


def test_how_nodes_get_their_bounds_is_checked_not_trusted(input_split):
    data, prop, certificate = input_split
    unknown = copy.deepcopy(certificate)
    unknown.targets[0].intermediate = "trust me"
    _rejected(data, prop, unknown, "intermediate bounds 'trust me'")
    # inheriting keeps every leaf at the root's bounds: sound, and too loose for these leaves
    inherited = copy.deepcopy(certificate)
    inherited.targets[0].intermediate = "inherit"
    _rejected(data, prop, inherited, "not > 0")


def test_row_weights_must_close_the_leaf_they_are_given_for(input_split):
    data, prop, certificate = input_split
    zero = copy.deepcopy(certificate)
    zero.targets[0].rows = np.zeros((zero.targets[0].n_leaves, 1, 1))  # the zero combination proves nothing
    _rejected(data, prop, zero, "not > 0")
    negative = copy.deepcopy(certificate)
    negative.targets[0].rows = -np.ones((negative.targets[0].n_leaves, 1, 1))  # counts as 0
    _rejected(data, prop, negative, "not > 0")
