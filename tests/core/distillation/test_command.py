"""`certbound faithfulness`: a table per example and a summary line, or one error line (exit 2)."""

import json

from typer.testing import CliRunner

from app.cli import cli
from tests.core.distillation.nets import mlp


def test_faithfulness_command_prints_each_example_and_refuses_a_misfit_pair(tmp_path, mnist_path):
    teacher, student, small = tmp_path / "t.onnx", tmp_path / "s.onnx", tmp_path / "small.onnx"
    teacher.write_bytes(mlp([16, 10], 0, input_shape=(1, 1, 28, 28)))
    student.write_bytes(mlp([8, 10], 1, input_shape=(1, 1, 28, 28)))
    small.write_bytes(mlp([8, 10], 1))
    common = ["--data", str(mnist_path), "--n", "1", "--example-timeout", "1", "--threads", "1", "--device", "cpu"]
    result = CliRunner().invoke(cli, ["faithfulness", str(teacher), str(student), "--eps", "0.01", "--json", *common])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [r["index"] for r in report["examples"]] == [0] and report["summary"]["eps"] == 0.01
    result = CliRunner().invoke(cli, ["faithfulness", str(teacher), str(small), *common])
    assert result.exit_code == 2
    assert "error: the teacher takes inputs [1, 28, 28], the student [1, 4, 4]" in result.output
    result = CliRunner().invoke(cli, ["faithfulness", str(teacher), str(student), "--eps", "0", *common])
    assert result.exit_code == 2 and "--eps" in result.output
