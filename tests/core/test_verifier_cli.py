"""`certbound verify` and `certbound bench` as a user runs them, plus the VNN-COMP scripts."""

import csv
import gzip
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from core.counterexample import read_result
from core.result import Verdict

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_verify_writes_a_vnncomp_result_with_the_counterexample(bundled_benchmarks, tmp_path):
    folder = bundled_benchmarks / "mlp"
    out = tmp_path / "result.txt"
    result = runner.invoke(cli, ["verify", str(folder / "onnx/relu5.onnx.gz"), str(folder / "vnnlib/relu5_sat.vnnlib.gz"),
                                 "--timeout", "60", "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sat relu5.onnx.gz relu5_sat.vnnlib.gz")
    assert len(result.output.strip().splitlines()) == 1
    verdict, x, y = read_result(out)
    assert verdict == Verdict.SAT and x is not None and y is not None


def test_verify_answers_unsat_with_exit_code_zero(bundled_benchmarks, tmp_path):
    folder = bundled_benchmarks / "mlp"
    out = tmp_path / "result.txt"
    result = runner.invoke(cli, ["verify", str(folder / "onnx/tiny.onnx.gz"), str(folder / "vnnlib/tiny_unsat.vnnlib.gz"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("unsat ")
    assert read_result(out)[0] == Verdict.UNSAT
    assert "certificate checked in" in result.stderr and result.stderr.rstrip().endswith(": valid")


def test_no_check_reports_the_unsat_without_the_certificate_check(bundled_benchmarks):
    folder = bundled_benchmarks / "mlp"
    result = runner.invoke(cli, ["verify", str(folder / "onnx/tiny.onnx.gz"), str(folder / "vnnlib/tiny_unsat.vnnlib.gz"),
                                 "--no-check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("unsat ") and "certificate" not in result.stderr


def test_bad_input_is_one_line_naming_the_file_and_a_nonzero_exit(bundled_benchmarks, tmp_path):
    broken = tmp_path / "broken.vnnlib"
    broken.write_text("(declare-const X_0 Real)\n(assert (<= X_0 \n")
    net = bundled_benchmarks / "mlp/onnx/tiny.onnx.gz"
    result = runner.invoke(cli, ["verify", str(net), str(broken)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {broken}: line")
    missing = runner.invoke(cli, ["verify", str(tmp_path / "nope.onnx"), str(broken)])
    assert missing.exit_code == 2 and "nope.onnx: no such file" in missing.output
    device = runner.invoke(cli, ["verify", str(net), str(broken), "--device", "tpu"])
    assert device.exit_code == 2 and "--device 'tpu'" in device.output
    seed = runner.invoke(cli, ["verify", str(net), str(broken), "--seed", "-1"])
    assert seed.exit_code == 2 and seed.output.strip() == "error: --seed: Input should be greater than or equal to 0"


def test_bench_scores_every_instance_of_a_folder_and_writes_the_csv(bundled_benchmarks, tmp_path):
    out = tmp_path / "results.csv"
    result = runner.invoke(cli, ["bench", str(bundled_benchmarks / "mlp"), "--out", str(out), "--timeout-scale", "0.5"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert all(r["correct"] == "yes" for r in rows), rows
    assert all(float(r["timeout"]) == 30.0 for r in rows)
    assert "solved" in result.output and "mlp" in result.output


def test_bench_certify_checks_a_certificate_for_every_unsat(bundled_benchmarks, tmp_path):
    out = tmp_path / "results.csv"
    result = runner.invoke(cli, ["bench", str(bundled_benchmarks / "mlp"), "--certify", "--out", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    unsat = [r for r in rows if r["verdict"] == "unsat"]
    assert len(unsat) == 2 and all(r["check"] == "valid" and int(r["certificate_bytes"]) > 0 for r in unsat)
    assert all(float(r["check_s"]) > 0 for r in unsat)
    assert [r["check"] for r in rows if r["verdict"] == "sat"] == ["", ""]
    assert "2/2" in result.output


def test_bench_filter_selects_instances_and_rejects_a_bad_pattern(bundled_benchmarks, tmp_path):
    out = tmp_path / "results.csv"
    result = runner.invoke(cli, ["bench", str(bundled_benchmarks), "--filter", "mlp/onnx/tiny.*unsat", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        assert [(r["onnx"], r["vnnlib"]) for r in csv.DictReader(f)] == [("onnx/tiny.onnx.gz", "vnnlib/tiny_unsat.vnnlib.gz")]
    bad = runner.invoke(cli, ["bench", str(bundled_benchmarks), "--filter", "("])
    assert bad.exit_code == 2 and "--filter" in bad.output


def test_vnncomp_scripts_prepare_and_run_an_instance(bundled_benchmarks, tmp_path):
    net, prop = tmp_path / "net.onnx", tmp_path / "prop.vnnlib"
    net.write_bytes(gzip.decompress((bundled_benchmarks / "mlp/onnx/tiny.onnx.gz").read_bytes()))
    prop.write_bytes(gzip.decompress((bundled_benchmarks / "mlp/vnnlib/tiny_unsat.vnnlib.gz").read_bytes()))
    prepare = subprocess.run([str(REPO / "vnncomp/prepare_instance.sh"), "v1", "test", str(net), str(prop)],
                             capture_output=True, text=True, timeout=120)
    assert prepare.returncode == 0, prepare.stderr
    out = tmp_path / "out.txt"
    run = subprocess.run([str(REPO / "vnncomp/run_instance.sh"), "v1", "test", str(net), str(prop), str(out), "30"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert out.read_text().strip() == "unsat"
    bad = subprocess.run([str(REPO / "vnncomp/prepare_instance.sh"), "v1", "test", str(tmp_path / "missing.onnx"),
                          str(prop)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "missing.onnx" in bad.stderr
