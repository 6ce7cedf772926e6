"""The planted benchmark's generator keeps its guarantees (every planted counterexample
replays in onnxruntime, every decoy is unsat by the exact MILP, the bump is local, the same
seed writes the same bytes), and certbound never answers one of its instances wrongly."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from benchmarks.planted.generate import generate, specs, write
from benchmarks.planted.run import outcome
from core.bounds.reference import exact_milp
from core.config import VerifyConfig
from core.counterexample import confirm
from core.model import load_network
from core.spec import load_property
from core.verifier import verify

# the small family at the widest and the narrowest bump (its decoys' MILPs take about a second),
# and a planted convolutional one (the larger families' decoy MILPs take up to minutes)
SLICE = [s for s in specs() if s.index == 0 and (s.family.name == "fc6" and s.side in (1e-2, 1e-5)
                                                 or s.family.name == "conv8" and s.side == 1e-3 and s.kind == "planted")]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    write([generate(spec) for spec in SLICE], out)
    return out


def rows(folder):
    with open(folder / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


def files(folder, row):
    return gzip.decompress((folder / row["onnx"]).read_bytes()), load_property(folder / row["vnnlib"])


def test_the_slice_has_planted_and_decoy_instances(folder):
    assert sorted(r["expected"] for r in rows(folder)) == ["sat", "sat", "sat", "unsat", "unsat"]
    assert len(specs()) >= 40


def test_every_planted_counterexample_replays_in_onnxruntime_and_is_local(folder):
    with open(folder / "witnesses.csv", newline="") as f:
        witnesses = {(r["onnx"], r["vnnlib"]): np.array(r["x"].split(), float) for r in csv.DictReader(f)}
    planted = [r for r in rows(folder) if r["kind"] == "planted"]
    assert len(witnesses) == len(planted) == 3
    for row in planted:
        data, prop = files(folder, row)
        x = witnesses[(row["onnx"], row["vnnlib"])]
        assert confirm(data, prop, x, tol=0.0).ok
        # a tenth of the box away along every input, the bump is gone and the property holds
        box = prop.regions[0].box
        moved = np.clip(x + 0.1 * (box.upper - box.lower), box.lower, box.upper)
        assert not confirm(data, prop, moved, tol=0.0).ok


def test_every_decoy_is_unsat_by_the_exact_milp(folder):
    from benchmarks.planted.generate import _crown

    for row in (r for r in rows(folder) if r["kind"] == "decoy"):
        data, prop = files(folder, row)
        graph = load_network(data).graph
        region = prop.regions[0]
        C = np.concatenate([np.asarray(c.C, float) for c in region.unsafe])
        d = np.concatenate([np.asarray(c.d, float) for c in region.unsafe])
        assert np.all(d == 0) and len(C) == 4  # every other class against the label
        _, intermediate, domain = _crown(graph, region.box.lower, region.box.upper, C)
        smallest = exact_milp(graph, domain, intermediate, C, d).min()
        assert smallest > 0
        assert smallest == pytest.approx(float(row["milp_margin"]), rel=1e-4)


def test_the_same_seed_writes_the_same_bytes():
    first, again = generate(SLICE[0]), generate(SLICE[0])
    assert first.onnx == again.onnx and first.vnnlib == again.vnnlib
    assert generate(specs(seed=1)[0]).onnx != first.onnx


def test_certbound_never_answers_wrong_on_the_slice(folder):
    for row in rows(folder):
        data, prop = files(folder, row)
        result = verify(load_network(data), prop, VerifyConfig(timeout_s=5, threads=1, device="cpu"))
        assert outcome(row["kind"], result.verdict.value, row["expected"]) != "WRONG", row


def test_scoring():
    assert outcome("planted", "sat", "sat") == "found"
    assert outcome("planted", "timeout", "sat") == "missed"
    assert outcome("planted", "unsat", "sat") == "WRONG"
    assert outcome("decoy", "unsat", "unsat") == "proved"
    assert outcome("decoy", "timeout", "unsat") == "open"
    assert outcome("decoy", "sat", "unsat") == "WRONG"
