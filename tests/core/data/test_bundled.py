"""The data shipped in the package: where it is found, and that the bundled instances have
the answers expected.csv gives them (each sat confirmed by onnxruntime, each unsat's
certificate accepted by the independent checker, the open one undecided)."""

from __future__ import annotations

import csv
import gzip

import pytest

from core.config import VerifyConfig
from core.counterexample import confirm
from core.data import BUNDLED_BENCHMARKS, BUNDLED_MNIST, SHARED_ENV, benchmarks_dir, mnist_path
from core.data.make_benchmarks import NETS, exact_max, layers_of
from core.model import load_network
from core.spec import load_property
from core.verifier import verify
from core.verifier.certify import certify

FOLDERS = [BUNDLED_BENCHMARKS / "mlp", BUNDLED_BENCHMARKS / "open"]


def rows(folder) -> list[dict[str, str]]:
    with open(folder / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_without_the_setting_the_bundled_copies_are_used(monkeypatch, tmp_path):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    assert (benchmarks_dir(), mnist_path()) == (BUNDLED_BENCHMARKS, BUNDLED_MNIST)
    assert BUNDLED_MNIST.is_file()
    monkeypatch.setenv(SHARED_ENV, str(tmp_path))
    assert (benchmarks_dir(), mnist_path()) == (tmp_path / "benchmarks", tmp_path / "datasets" / "mnist.npz")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_file_is_listed_and_both_lists_agree(folder):
    with open(folder / "instances.csv", newline="") as f:
        listed = [tuple(row) for row in csv.reader(f)]
    assert listed == [(r["onnx"], r["vnnlib"], r["timeout"]) for r in rows(folder)]
    on_disk = {str(p.relative_to(folder)) for p in folder.glob("*/*.gz")}
    assert on_disk == {name for row in listed for name in row[:2]}
    assert {p.name for p in BUNDLED_BENCHMARKS.iterdir() if p.is_dir()} == {f.name for f in FOLDERS}


@pytest.mark.parametrize("row", rows(FOLDERS[0]), ids=lambda r: r["vnnlib"])
def test_each_decided_instance_gets_its_answer_with_evidence(row):
    folder = FOLDERS[0]
    assert row["expected"] in ("sat", "unsat")
    network, prop = load_network(folder / row["onnx"]), load_property(folder / row["vnnlib"])
    result = verify(network, prop, VerifyConfig(timeout_s=float(row["timeout"]), threads=1))
    assert result.verdict.value == row["expected"], result.message
    if row["expected"] == "sat":
        assert confirm(network.onnx_bytes, prop, result.counterexample.x).ok
    else:
        assert certify(network, prop, result).check.valid


def test_the_open_instance_is_not_decided_in_seconds():
    [row] = rows(FOLDERS[1])
    assert row["expected"] == "unknown"
    network, prop = load_network(FOLDERS[1] / row["onnx"]), load_property(FOLDERS[1] / row["vnnlib"])
    result = verify(network, prop, VerifyConfig(timeout_s=5, threads=1))
    assert result.verdict.value in ("timeout", "unknown"), result.message


def test_the_tiny_unsat_threshold_lies_above_the_exact_maximum():
    tiny = next(net for net in NETS if net.name == "tiny")
    text = gzip.decompress((FOLDERS[0] / "vnnlib" / "tiny_unsat.vnnlib.gz").read_bytes()).decode()
    threshold = float(text.rsplit("(>= Y_0 ", 1)[1].split(")")[0])
    assert exact_max(layers_of(tiny), 0) < threshold
