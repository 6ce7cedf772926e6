"""Holders of a distributed search in one process: dealing, giving half at a batch
boundary, a holder killed after a snapshot and resumed from it; the merged forests are
one certificate the unchanged checker accepts, and a domain closed twice is refused."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pytest
import torch

from core.bab.budget import Stop
from core.bab.merge import Forest, MergeError, merge
from core.certificate import check
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.spec import load_property
from core.verifier.certify import certificate_of
from core.verifier.parallel import Holder, dump, load, merged_result, root_phase, start
from tests.core.certificate.nets import onnx_bytes, one_row_property, random_layers


class Blobs(dict):
    """An in-memory stand-in for the artifact store's put/read (content-addressed)."""

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self[key] = data
        return key


@pytest.fixture(scope="module")
def relu5(bundled_benchmarks):
    data = gzip.open(bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz").read()
    text = gzip.open(bundled_benchmarks / "mlp" / "vnnlib" / "relu5_unsat.vnnlib.gz").read().decode()
    # output 0 stays below 1.157 (MILP): unsat, some 600 boxes of input splitting
    return data, load_network(data), load_property(text.replace("1.5490868091583252", "2.3").encode())


def test_dealt_given_killed_and_resumed_holders_merge_into_one_valid_certificate(relu5):
    data, network, prop = relu5
    config = VerifyConfig(branching="input", threads=1, timeout_s=60)
    blobs = Blobs()
    parent = start(network, prop, config, 60, None)
    assert root_phase(parent) is None and len(parent.pending) == 1
    a = Holder(parent, "A")
    assert a.grow(2, deal_after_s=float("inf")) is None and a.open_domains() >= 8
    (piece,) = a.deal(2)
    b = Holder(start(network, prop, config, 60, None), "B")
    b.take(piece)
    steps: dict[str, object] = {"n": 0}

    def b_batch(search) -> None:  # gives half to A, snapshots, then dies three batches later
        steps["n"] += 1
        if steps["n"] == 2:
            assert a.take(b.give()) > 0
        if steps["n"] == 4:
            steps["snapshot"], steps["visited"] = b.snapshot(blobs.put), b.visited
        if steps["n"] == 7:
            raise Stop("cancelled")

    with pytest.raises(Stop):
        b.search(b_batch)
    resumed = Holder(start(network, prop, config, 60, None), "B")
    resumed.restore(steps["snapshot"], blobs.__getitem__)
    assert resumed.visited == steps["visited"] > 0 and resumed.open_domains() > 0
    assert resumed.search(lambda s: None) == ("unsat", "")
    assert a.search(lambda s: None) == ("unsat", "")
    result = merged_result(parent, {"A": a.snapshot(blobs.put), "B": resumed.snapshot(blobs.put)}, blobs.__getitem__)
    assert result.verdict.value == "unsat", result.message
    assert result.domains_visited == a.visited + resumed.visited
    assert check(data, prop, certificate_of(network, prop, result)).valid


def test_snapshots_written_with_torch_save_before_pickling_still_load(relu5):
    _, network, prop = relu5
    run = start(network, prop, VerifyConfig(branching="input", threads=1, timeout_s=60), 60, None)
    assert root_phase(run) is None
    holder = Holder(run, "A")
    assert holder.grow(2, deal_after_s=float("inf")) is None
    data = holder.snapshot(Blobs().put)
    assert data[:2] != b"PK"  # pickled, not a torch.save zip
    buffer = io.BytesIO()
    torch.save(load(data), buffer)  # what a job running across the upgrade had written
    new, old = load(data), load(buffer.getvalue())
    assert old["visited"] == new["visited"] > 0 and old["targets"].keys() == new["targets"].keys()
    for key, target in new["targets"].items():
        assert all(torch.equal(v, old["targets"][key]["pool"][k]) for k, v in target["pool"].items())
    assert load(dump(old)).keys() == old.keys()


def test_a_grow_that_has_run_its_time_deals_at_one_domain_per_part(relu5):
    _, network, prop = relu5
    config = VerifyConfig(branching="input", threads=1, timeout_s=60)
    patient, hurried = (start(network, prop, config, 60, None) for _ in range(2))
    for run in (patient, hurried):
        assert root_phase(run) is None
    slow, quick = Holder(patient, "A"), Holder(hurried, "A")
    assert slow.grow(3, deal_after_s=float("inf")) is None and quick.grow(3, deal_after_s=0.0) is None
    assert 3 <= quick.open_domains() < 12 <= slow.open_domains()
    assert quick.visited < slow.visited


def test_targets_of_one_domain_each_are_dealt_across_the_parts(relu5):
    """Three open targets grown to one domain each (a grow that has run its time): the
    deal's count runs on from target to target, so the second part gets one of them."""
    from core.spec.property import Conjunction, Property, Region

    _, network, prop = relu5
    unsafe = tuple(Conjunction(np.array([[-1.0, 0, 0, 0, 0]]), np.array([-t])) for t in (2.3, 2.4, 2.5))
    three = Property(prop.n_inputs, prop.n_outputs, (Region(prop.regions[0].box, unsafe),))
    run = start(network, three, VerifyConfig(branching="input", threads=1, timeout_s=60), 60, None)
    with run.budget:
        assert root_phase(run) is None and len(run.pending) == 3
        parent = Holder(run, "A")
        assert parent.grow(2, deal_after_s=0.0) is None and parent.open_domains() == 3
        (piece,) = parent.deal(2)
    other = Holder(start(network, three, VerifyConfig(branching="input", threads=1, timeout_s=60), 60, None), "B")
    assert other.take(piece) == 1 and parent.open_domains() == 2


def test_a_domain_closed_by_two_holders_does_not_merge():
    from core.bab.tree import ProofTree
    import torch

    root = ProofTree("input")
    left, right = root.add_children(torch.tensor([0]), [("input", 0, 0.0)])
    root.close(left, torch.tensor([1.0]))
    other = ProofTree("input", parent=[], branch=[])
    other.close(torch.tensor([other.add_root()]), torch.tensor([1.0]))  # took node 1 too: closed twice
    with pytest.raises(MergeError, match="closed twice"):
        merge([Forest("A", root, {}), Forest("B", other, {0: ("A", int(left))})])


@pytest.mark.parametrize("first_search", [0.04, 0.0])
def test_the_root_phase_searches_without_lemmas_first_as_one_job_does(first_search):
    """A 3-ReLU-layer net whose target α-CROWN leaves open at the root (-1.21 against
    d = -1.1): a short search without lemmas closes it, so with `search_before_lemmas` the
    root phase decides before any lemma; with 0 the lemmas close it at the root instead.
    Either way the certificate is valid."""
    data = onnx_bytes(random_layers(np.random.default_rng(0), [5, 16, 16, 12, 1]))
    network, prop = load_network(data), one_row_property(-np.ones(5), np.ones(5), np.ones(1), -1.1)
    config = VerifyConfig(branching="relu", threads=1, timeout_s=60, search_before_lemmas=first_search)
    run = start(network, prop, config, 60, None)
    with run.budget:
        assert root_phase(run) is Verdict.UNSAT and run.pending == []
    closed_by = [(proof["closed_by"], proof["root"]) for proof in run.proofs]
    assert closed_by == ([("bab", "alpha")] if first_search else [("alpha", "lemmas")])
    assert bool(run.lemma_roots) is not bool(first_search)
    assert check(data, prop, certificate_of(network, prop, run.result(Verdict.UNSAT))).valid
