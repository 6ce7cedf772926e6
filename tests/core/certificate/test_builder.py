"""`CertificateBuilder` as the verifier uses it: split by split, or a whole `ProofTree`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.bab.tree import ProofTree
from core.certificate import CertificateBuilder, certificate_from_proofs, check, network_digest, property_digest
from tests.core.certificate.nets import onnx_bytes, one_row_property, random_layers


def _instance():
    layers = random_layers(np.random.default_rng(1), [2, 4, 1])
    prop = one_row_property([-1, -1], [1, 1], [1.0], -100.0)  # far below anything the net reaches
    return onnx_bytes(layers), prop


def test_a_proof_tree_handed_over_whole_checks():
    data, prop = _instance()
    tree = ProofTree("input")
    left, right = tree.add_children(torch.tensor([0]), [("input", 0, 0.25)])
    tree.add_children(right, [("relu", "relu0", 3)])
    tree.close(torch.tensor([1, 3, 4]), torch.tensor([1.0, 1.0, 1.0]))
    builder = CertificateBuilder(network_digest(data), property_digest(prop), ["relu0"])
    target = builder.target(0, 0)
    target.add_tree(tree.parent, tree.branch, tree.split)
    for leaf, _ in sorted(tree.closed.items()):
        target.close(leaf, alpha={"relu0": torch.full((1, 4), 0.5)})
    certificate = builder.finish()
    assert certificate.targets[0].split_kind.tolist() == [0, 1]
    assert certificate.targets[0].alpha["relu0"].dtype == np.float32
    assert check(data, prop, certificate).valid


def test_the_verifiers_proof_records_become_a_certificate():
    data, prop = _instance()
    tree = ProofTree("relu")
    left, right = tree.add_children(torch.tensor([0]), [("relu", "relu0", 1)])
    tree.add_children(left, [("input", 0, -0.5)])
    tree.close(torch.tensor([2, 3, 4]), torch.tensor([1.0, 1.0, 1.0]))
    proofs = [{"region": 0, "disjunct": 0, "closed_by": "bab", "tree": tree.to_dict()}]
    certificate = certificate_from_proofs(network_digest(data), property_digest(prop), ["relu0"], proofs)
    assert certificate.targets[0].leaf_node.tolist() == [2, 3, 4]
    assert check(data, prop, certificate).valid
    root_only = certificate_from_proofs(network_digest(data), property_digest(prop), ["relu0"],
                                        [{"region": 0, "disjunct": 0, "closed_by": "crown", "lower_bound": 1.0}])
    assert root_only.targets[0].n_nodes == 1 and check(data, prop, root_only).valid


def test_mistakes_are_named():
    data, prop = _instance()
    builder = CertificateBuilder(network_digest(data), property_digest(prop), ["relu0"])
    target = builder.target(0, 0)
    with pytest.raises(ValueError, match="'relu9'"):
        target.split(0, ("relu", "relu9", 0))
    with pytest.raises(ValueError, match="split kind 'bisect'"):
        target.split(0, ("bisect", 0, 0.0))
    left, right = target.split(0, ("input", 1, 0.0))
    target.close(left, beta={"relu0": np.zeros((2, 4))})
    target.close(right, rows=np.ones((1, 1)))
    proof = builder.finish().targets[0]  # fewer combinations are padded with NaN: the defaults
    assert proof.beta["relu0"].shape == (2, 2, 4) and np.isnan(proof.beta["relu0"][1]).all()
    assert proof.rows.shape == (2, 2, 1) and proof.rows[1, 0, 0] == 1 and np.isnan(proof.rows[1, 1, 0])


def test_parameters_are_stored_as_float32_exactly_when_that_loses_nothing():
    """The verifier's α/β steps keep their values float32-representable (core.bounds.alpha),
    so the file holds them in half the bytes; any other value stays float64, bit for bit."""
    from core.bounds import AlphaState, BoundOptions, Domains, bound
    from core.model import load_network

    data, prop = _instance()
    graph = load_network(data).graph.to("cpu", torch.float64)
    box = Domains(-torch.ones(1, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64))
    result = bound(graph, box, torch.ones(1, 1, 1), torch.zeros(1, 1), "alpha", BoundOptions(alpha_iterations=5))
    assert isinstance(result.warm_start, AlphaState)
    optimised = next(iter(result.warm_start.alphas.values()))[:, 0]  # [1, size], float64
    assert optimised.dtype == torch.float64 and torch.equal(optimised, optimised.float().double())
    odd = np.full((1, 4), 0.1)  # 0.1 has no float32 form
    builder = CertificateBuilder(network_digest(data), property_digest(prop), ["relu0"])
    target = builder.target(0, 0)
    target.close(0, alpha={"relu0": optimised}, beta={"relu0": odd})
    loaded = type(builder.finish()).load(builder.finish().to_bytes()).targets[0]
    assert loaded.alpha["relu0"].dtype == np.float32 and loaded.beta["relu0"].dtype == np.float64
    np.testing.assert_array_equal(loaded.alpha["relu0"][0, 0], optimised[0].numpy())
    np.testing.assert_array_equal(loaded.beta["relu0"], odd[None])
