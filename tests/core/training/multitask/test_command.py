"""`certbound train-multitask`: a tiny run writes the multi-head network and its per-task report; bad input exits 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.data import BUNDLED_MNIST
from core.model import load_network


def test_robust_mnist_at_two_eps_writes_the_network_and_per_task_report(tmp_path):
    out, report = tmp_path / "net.onnx", tmp_path / "report.json"
    result = CliRunner().invoke(cli, [
        "train-multitask", "--out", str(out), "--dataset", "mnist", "--task", "digit:ibp:0.02", "--task",
        "digit:cc-ibp:0.05", "--heads", "shared", "--data", str(BUNDLED_MNIST), "--epochs", "1",
        "--train-subset", "64", "--batch-size", "32", "--test-subset", "16", "--crown-subset", "4",
        "--device", "cpu", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "IBP ver." in result.output and "ms/step" in result.output
    assert load_network(out).graph.output_size == 10  # one shared head
    saved = json.loads(report.read_text())
    assert [(t["method"], t["eps"]) for t in saved["report"]["tasks"]] == [("ibp", 0.02), ("cc-ibp", 0.05)]
    assert saved["config"]["combiner"] == "unitary" and len(saved["history"]) == 1


@pytest.mark.parametrize("args, message", [
    (["--task", "digit"], "multi-mnist has labels left, right, not 'digit'"),
    (["--dataset", "mnist", "--task", "digit:ibp:wide"], "EPS 'wide' is not a number"),
    (["--dataset", "mnist", "--task", "digit:ibp"], "a clean task has eps 0"),
    (["--combiner", "nash"], "--combiner: Input should be"),
    (["--task", "left:a:b:c"], "expected LABEL[:METHOD[:EPS]]"),
])
def test_bad_options_get_one_clear_error(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train-multitask", "--out", str(tmp_path / "n.onnx"), *args])
    assert result.exit_code == 2 and message in result.output
