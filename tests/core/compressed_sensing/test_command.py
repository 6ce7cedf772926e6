"""`certbound cs-train`, `cs-verify`, `cs-check`: verdicts, proofs checked, bad input exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.counterexample import run_network
from tests.core.compressed_sensing import tetra

runner = CliRunner()
PROBLEM = ["--n", "4", "--m", "3", "--k", "1"]


@pytest.fixture
def matrix(tmp_path):
    path = tmp_path / "A.npy"
    np.save(path, tetra.problem().A)
    return str(path)


def test_verify_a_correct_and_a_wrong_decoder_and_check_the_proof(tmp_path, matrix):
    good, bad, proof = tmp_path / "good.onnx", tmp_path / "bad.onnx", tmp_path / "proof.zip"
    good.write_bytes(tetra.linear_decoder(0.8))
    bad.write_bytes(tetra.linear_decoder(0.5))
    out = runner.invoke(cli, ["cs-verify", str(good), *PROBLEM, "--matrix", matrix, "--proof", str(proof),
                              "--baseline-samples", "50"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("unsat: 8 of 8 pieces (8 unsat)") and "OMP fails on 0.0%" in out.stdout
    assert runner.invoke(cli, ["cs-check", str(good), str(proof)]).stdout.strip() == "valid"
    checked = runner.invoke(cli, ["cs-check", str(bad), str(proof)])
    assert checked.exit_code == 1 and "different decoder" in checked.stdout
    out = runner.invoke(cli, ["cs-verify", str(bad), *PROBLEM, "--matrix", matrix, "--json", "--baseline-samples", "0"])
    summary = json.loads(out.stdout)
    assert summary["verdict"] == "sat" and summary["first_counterexample"]["message"].startswith("replayed")


def test_train_writes_the_decoder_it_verified(tmp_path, matrix):
    out_path = tmp_path / "dec.onnx"
    out = runner.invoke(cli, ["cs-train", "--out", str(out_path), *PROBLEM, "--matrix", matrix, "--epochs", "3",
                              "--samples", "256", "--hidden", "8", "--rounds", "1", "--bound-weight", "0.5", "--json", "--baseline-samples", "0"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["rounds"] == 1 and summary["verdict"] in ("unsat", "sat")
    scores = run_network(out_path.read_bytes(), np.zeros(3, dtype=np.float32))
    assert scores.size == 4


@pytest.mark.parametrize("args, words", [
    (["--k", "4"], "error: options: k = 4 must be below n = 4"),
    (["--measurement", "quantised"], "error: --measurement:"),
    (["--matrix", "missing.npy"], "error: missing.npy:"),
    (["--hidden", "wide"], "error: --hidden: 'wide' is not widths"),
    (["--m", "8", "--k", "2", "--n", "10", "--measurement", "binarized"], "no decoder can be correct"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    out = runner.invoke(cli, ["cs-train", "--out", str(tmp_path / "x.onnx"), *PROBLEM, *args])
    assert out.exit_code == 2 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.output


def test_verify_refuses_a_decoder_of_the_wrong_size(tmp_path, matrix):
    path = tmp_path / "dec.onnx"
    path.write_bytes(tetra.linear_decoder(0.8))
    out = runner.invoke(cli, ["cs-verify", str(path), "--n", "5", "--m", "3", "--k", "1"])
    assert out.exit_code == 2 and "this problem needs 3 measurements to 5 scores" in out.stderr
    path.write_bytes(b"not onnx")
    out = runner.invoke(cli, ["cs-verify", str(path), *PROBLEM])
    assert out.exit_code == 2 and "not an ONNX model" in out.stderr
