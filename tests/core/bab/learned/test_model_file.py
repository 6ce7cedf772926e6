"""A brancher file that is damaged or not a brancher fails loudly, before any search."""

import gzip
import io

import pytest
import torch
from typer.testing import CliRunner

from app.cli import cli
from core.bab.learned.gnn import BranchGNN
from core.bab.learned.model_file import BrancherFileError, load_brancher, save_brancher

runner = CliRunner()


def test_round_trip_keeps_weights_and_threshold(tmp_path):
    model = BranchGNN(dim=8)
    data = save_brancher(model, tmp_path / "b", threshold=0.25, meta={"epochs": 3})
    loaded, threshold, meta = load_brancher(tmp_path / "b")
    assert threshold == 0.25 and meta == {"epochs": 3} and (tmp_path / "b").read_bytes() == data
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def _torch_gz(blob) -> bytes:
    buffer = io.BytesIO()
    torch.save(blob, buffer)
    return gzip.compress(buffer.getvalue())


@pytest.mark.parametrize("damage, words", [
    (lambda good: good[: len(good) // 2], "cannot decode"),
    (lambda good: b"not gzip at all", "cannot decode"),
    (lambda good: _torch_gz({"weights": torch.zeros(3)}), "no 'certbound-brancher' tag"),
    (lambda good: _torch_gz({"format": "certbound-brancher", "version": 99}), "version 99"),
    (lambda good: _torch_gz({"format": "certbound-brancher", "version": 1, "dim": 8, "rounds": 2, "threshold": 0.1,
                             "state": {"score.0.weight": torch.zeros(2, 2)}}), "do not fit"),
])
def test_damaged_or_foreign_files_raise_naming_the_problem(damage, words):
    good = save_brancher(BranchGNN(dim=8))
    with pytest.raises(BrancherFileError, match=words):
        load_brancher(damage(good))


def test_nan_weights_are_refused():
    model = BranchGNN(dim=8)
    with torch.no_grad():
        model.score[0].weight[0, 0] = float("nan")
    with pytest.raises(BrancherFileError, match="non-finite"):
        load_brancher(save_brancher(model))


def test_verify_with_a_corrupted_brancher_is_a_one_line_error(bundled_benchmarks, tmp_path):
    bad = tmp_path / "bad.brancher"
    bad.write_bytes(save_brancher(BranchGNN(dim=8))[:100])
    folder = bundled_benchmarks / "mlp"
    result = runner.invoke(cli, ["verify", str(folder / "onnx/tiny.onnx.gz"), str(folder / "vnnlib/tiny_unsat.vnnlib.gz"),
                                 "--branching", "gnn", "--brancher", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not a certbound brancher" in result.stderr
    assert not result.stdout  # no verdict at all
    missing = runner.invoke(cli, ["verify", str(folder / "onnx/tiny.onnx.gz"), str(folder / "vnnlib/tiny_unsat.vnnlib.gz"),
                                  "--branching", "gnn"])
    assert missing.exit_code == 2 and "--brancher" in missing.stderr
