"""`certbound inspect`: network and property summaries, and clear errors."""

from typer.testing import CliRunner

from app.cli import cli

ACAS = "acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz"


def test_network_and_property(benchmarks_dir):
    prop = benchmarks_dir / "acasxu/vnnlib/prop_7.vnnlib.gz"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["inspect", str(benchmarks_dir / ACAS), str(prop)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "per example [1, 1, 5]" in out and "parameters: 13,310" in out and "MatMul x7" in out
    assert "Linear 50 -> 50 + bias" in out and "engine graph" in out
    assert "5 inputs, 5 outputs, 1 box(es), 2 unsafe disjunct(s)" in out
    assert "constraints per disjunct: 3, 3" in out


def test_mismatched_property_is_an_error(benchmarks_dir):
    prop = benchmarks_dir / "mnist_fc/vnnlib/prop_0_0.03.vnnlib.gz"
    result = CliRunner().invoke(cli, ["inspect", str(benchmarks_dir / ACAS), str(prop)])
    assert result.exit_code == 2 and "the property has 784 inputs and 10 outputs" in result.output


def test_bad_network_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff" * 32)
    result = CliRunner().invoke(cli, ["inspect", str(bad)])
    assert result.exit_code == 2 and "not a valid ONNX protobuf" in result.output
    assert "Traceback" not in result.output
