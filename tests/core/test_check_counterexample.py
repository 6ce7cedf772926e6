"""`certbound check NET PROP FILE` on what `verify --certificate` writes for a sat: the
counterexample result file, replayed in onnxruntime (the package's own networks, real
processes for the exit codes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.counterexample import read_result, write_result
from tests.conftest import REPO


def certbound(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "certbound"), *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def sat_case(bundled_benchmarks, tmp_path_factory):
    """(network, property, result file) from a real `verify --certificate` run on relu5_sat."""
    folder = bundled_benchmarks / "mlp"
    net, prop = folder / "onnx/relu5.onnx.gz", folder / "vnnlib/relu5_sat.vnnlib.gz"
    out = tmp_path_factory.mktemp("cex") / "sat.txt"
    run = certbound("verify", net, prop, "--device", "cpu", "--timeout", "60", "--certificate", out)
    assert run.returncode == 0 and run.stdout.startswith("sat "), run.stdout + run.stderr
    return net, prop, out


def test_the_counterexample_verify_wrote_is_valid(sat_case):
    run = certbound("check", *sat_case)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("valid counterexample: output [") and "violates the property (disjunct 0)" in run.stdout
    _, _, y = read_result(sat_case[2])
    assert f"{y[0]:.6g}" in run.stdout


def test_the_same_point_under_a_property_that_holds_is_invalid(sat_case, bundled_benchmarks):
    net, _, out = sat_case
    run = certbound("check", net, bundled_benchmarks / "mlp/vnnlib/relu5_unsat.vnnlib.gz", out)
    assert run.returncode == 1 and run.stdout.startswith("invalid: the counterexample does not violate the property: "
                                                         "the output is safe"), run.stdout + run.stderr


def test_a_point_moved_out_of_the_box_is_invalid(sat_case, tmp_path):
    net, prop, out = sat_case
    _, x, y = read_result(out)
    x[0] += 3.0  # the box is 2 wide
    moved = tmp_path / "moved.txt"
    write_result(moved, "sat", x, y)
    run = certbound("check", net, prop, moved)
    assert run.returncode == 1 and "outside every input box: X_0" in run.stdout, run.stdout


def test_outputs_that_are_not_the_networks_are_invalid(sat_case, tmp_path):
    net, prop, out = sat_case
    _, x, y = read_result(out)
    y[2] += 0.5
    forged = tmp_path / "forged.txt"
    write_result(forged, "sat", x, y)
    run = certbound("check", net, prop, forged)
    assert run.returncode == 1 and "invalid: the file's outputs are not the network's: Y_2" in run.stdout, run.stdout
    write_result(forged, "sat", x, y[:3])
    run = certbound("check", net, prop, forged)
    assert run.returncode == 1 and "the file has 3 outputs (Y_), the network gives 5" in run.stdout, run.stdout


def test_a_witness_of_the_wrong_size_is_invalid(sat_case, tmp_path):
    net, prop, out = sat_case
    _, x, y = read_result(out)
    short = tmp_path / "short.txt"
    write_result(short, "sat", x[:4], y)
    run = certbound("check", net, prop, short)
    assert run.returncode == 1 and "x has 4 values but the property has 5 inputs" in run.stdout, run.stdout


@pytest.mark.parametrize("content, expected", [
    (b"unsat\n", "is a result file saying 'unsat': only a sat result carries a counterexample"),
    (b"hello\n", "is neither a certbound certificate (zip) nor a VNN-COMP result file"),
    (b"\xff\xfe\x00binary", "is neither a certbound certificate (zip) nor a VNN-COMP result file"),
    (b"sat\n((X_0 0.1) (Y_0 oops))\n", "bad number 'oops' for Y_0"),
])
def test_files_that_are_not_counterexamples_are_invalid(sat_case, tmp_path, content, expected):
    net, prop, _ = sat_case
    path = tmp_path / "file"
    path.write_bytes(content)
    run = certbound("check", net, prop, path)
    assert run.returncode == 1 and run.stdout.startswith("invalid: ") and expected in run.stdout, run.stdout


def test_a_truncated_zip_is_still_read_as_a_certificate(sat_case, tmp_path):
    net, prop, _ = sat_case
    path = tmp_path / "cut.zip"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 20)
    run = certbound("check", net, prop, path)
    assert run.returncode == 1 and "invalid: not a certbound certificate" in run.stdout, run.stdout


def test_a_missing_file_is_exit_2(sat_case, tmp_path):
    net, prop, _ = sat_case
    run = certbound("check", net, prop, tmp_path / "absent.txt")
    assert run.returncode == 2 and "absent.txt: no such file" in run.stderr
