"""The exit-code table of docs/cli.md, command by command: 0 done, 1 a wrong or rejected
answer, 2 bad input (one `error:` line on stderr), 3 a check stopped undecided."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.fixture
def files(benchmarks_dir, tmp_path) -> dict[str, str]:
    """Real inputs: a tiny unsat instance, a property that does not fit it, a certificate."""
    test = benchmarks_dir / "test"
    paths = {"net": test / "onnx/test_tiny.onnx.gz", "prop": test / "vnnlib/test_tiny.vnnlib.gz",
             "other_prop": test / "vnnlib/test_prop.vnnlib.gz", "missing": tmp_path / "missing.onnx",
             "cert": tmp_path / "tiny.cert", "garbage": tmp_path / "garbage.cert", "out": tmp_path / "out.onnx",
             "result": tmp_path / "result.txt"}
    paths["garbage"].write_bytes(b"not a certificate")
    made = runner.invoke(cli, ["verify", str(paths["net"]), str(paths["prop"]), "--certificate", str(paths["cert"])])
    assert made.exit_code == 0 and paths["cert"].is_file(), made.output
    # a benchmark folder whose expected answer is wrong: bench must say so with exit 1
    wrong = tmp_path / "wrong"
    for sub in ("onnx", "vnnlib"):
        (wrong / sub).mkdir(parents=True)
    shutil.copy(paths["net"], wrong / "onnx")
    shutil.copy(paths["prop"], wrong / "vnnlib")
    (wrong / "instances.csv").write_text("onnx/test_tiny.onnx.gz,vnnlib/test_tiny.vnnlib.gz,30\n")
    (wrong / "expected.csv").write_text("onnx,vnnlib,expected\nonnx/test_tiny.onnx.gz,vnnlib/test_tiny.vnnlib.gz,sat\n")
    paths["wrong_bench"], paths["test_bench"] = wrong, test
    return {k: str(v) for k, v in paths.items()}


# (command line with {placeholders}, exit code, what the output starts with or contains)
TABLE = [
    ("verify {net} {prop}", 0, r"^unsat test_tiny"),
    ("verify {net} {other_prop} --out {result}", 2, r"^error: .*test_prop\.vnnlib\.gz: property has 5 inputs but the network takes 1$"),
    ("verify {missing} {prop}", 2, r"^error: .*missing\.onnx: no such file$"),
    ("verify {net} {prop} --timeout 0", 2, r"^error: --timeout 0\.0: must be positive$"),
    ("verify {net} {prop} --device tpu", 2, r"^error: --device 'tpu': expected cpu, cuda or auto$"),
    ("bench {test_bench} --filter test_nano", 0, r"nano"),
    ("bench {wrong_bench}", 1, r"WRONG"),
    ("bench {missing}", 2, r"^error: .*missing\.onnx: not a folder$"),
    ("bounds {net} {prop}", 0, r"disjuncts refuted by crown"),
    ("bounds {net} {other_prop}", 2, r"^error: .*test_prop\.vnnlib\.gz: property has 5 inputs"),
    ("bounds {net} {prop} --method best", 2, r"^error: --method: unknown method 'best'; choose one of "),
    ("inspect {net} {prop}", 0, r"engine graph"),
    ("inspect {missing}", 2, r"^error: .*missing\.onnx: "),
    ("inspect {net} {other_prop}", 2, r"^error: .*test_prop\.vnnlib\.gz: the property has 5 inputs"),
    ("check {net} {prop} {cert}", 0, r"^valid"),
    ("check {net} {prop} {garbage}", 1, r"^invalid: "),
    ("check {net} {prop} {missing}", 2, r"^error: .*missing\.onnx: no such file$"),
    ("check {net} {prop} {cert} --timeout 0", 3, r"^stopped: "),
    ("train --out {out} --arch nope", 2, r"^error: unknown architecture 'nope'"),
    ("ops", 0, r"ONNX op"),
]


@pytest.mark.parametrize("line, code, expected", TABLE, ids=[f"{row[0].split()[0]}-{row[1]}-{i}"
                                                            for i, row in enumerate(TABLE)])
def test_every_command_exits_as_the_table_says(files, line, code, expected):
    result = runner.invoke(cli, line.format(**files).split(), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    assert re.search(expected, result.output, re.MULTILINE), result.output
    if code == 2:  # one line on stderr naming the problem, no traceback, nothing written
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert not Path(files["result"]).exists()


def test_the_documented_table_lists_every_engine_command():
    documented = set(re.findall(r"^\| `(\w+)", DOCS.read_text(), re.MULTILINE))
    assert {"verify", "bench", "bounds", "inspect", "check", "train", "ops"} <= documented
    assert {row[0].split()[0] for row in TABLE} == {"verify", "bench", "bounds", "inspect", "check", "train", "ops"}


def test_cuda_where_torch_has_none_is_one_line_and_exit_2(files):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is usable here")
    for line in ("verify {net} {prop} --device cuda", "bench {test_bench} --device cuda",
                 "train --out {out} --device cuda --epochs 1"):
        result = runner.invoke(cli, line.format(**files).split())
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --device cuda: "), result.output
        assert "without CUDA" in lines[0] and "--device cpu" in lines[0]
    assert not Path(files["out"]).exists()
