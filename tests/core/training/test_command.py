"""`certbound train` on the command line: a tiny run writes a loadable network and prints the report."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.data import SHARED_ENV
from core.model import load_network


@pytest.mark.slow
def test_train_command_writes_the_network_and_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)  # without --data: the MNIST subset shipped in the package
    out, report = tmp_path / "net.onnx", tmp_path / "report.json"
    result = CliRunner().invoke(cli, [
        "train", "--out", str(out), "--arch", "mlp", "--method", "cc-ibp", "--eps", "0.05", "--epochs", "1",
        "--train-subset", "64", "--batch-size", "32", "--test-subset", "8",
        "--crown-subset", "4", "--alpha-subset", "0", "--complete-subset", "0", "--device", "cpu", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "clean accuracy" in result.output and "IBP verified" in result.output
    assert load_network(out).graph.input_shape == (1, 28, 28)
    saved = json.loads(report.read_text())
    assert saved["config"]["method"] == "cc-ibp" and saved["report"]["samples"] == 8
    assert len(saved["history"]) == 1 and 0 <= saved["report"]["ibp"] <= saved["report"]["clean"]


@pytest.mark.parametrize("args, message", [
    (["--method", "pgd"], "--method: Input should be"),
    (["--arch", "resnet"], "unknown architecture 'resnet'"),
    (["--data", "/nonexistent/mnist.npz"], "no such file or folder"),
    (["--method", "faithful-kd"], "method 'faithful-kd' distils a teacher: give teacher"),
])
def test_bad_options_get_one_clear_error(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "n.onnx"), "--epochs", "1", *args])
    assert result.exit_code == 2
    assert message in result.output
