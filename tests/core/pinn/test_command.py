"""`certbound pinn`: figures per condition and the verdict; bad input is exit 2 with one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.core.pinn.onnx_files import relu_net, tiny_pinn

runner = CliRunner()


def test_figures_and_verdict(tmp_path):
    net = str(tiny_pinn(tmp_path / "pinn.onnx"))
    out = runner.invoke(cli, ["pinn", net, "--budget", "2", "--grid", "21", "--json", "--target-ratio", "1.5"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["verdict"] is None and set(summary["conditions"]) == {"residual", "initial", "boundary"}
    for c in summary["conditions"].values():
        assert c["certified_max"] >= c["empirical_max"]
    out = runner.invoke(cli, ["pinn", net, "--conditions", "initial", "--tolerance", "1e-9", "--grid", "21"])
    assert out.exit_code == 0 and "tolerance 1e-09: fails (initial |r| =" in out.stdout


def test_certificate_written_and_checked(tmp_path):
    net, cert = str(tiny_pinn(tmp_path / "pinn.onnx")), tmp_path / "pinn.cert"
    out = runner.invoke(cli, ["pinn", net, "--budget", "1", "--grid", "21", "--tolerance", "100",
                              "--certificate", str(cert)])
    assert out.exit_code == 0 and cert.is_file(), out.output
    checked = runner.invoke(cli, ["pinn-check", net, str(cert)])
    assert checked.exit_code == 0 and "valid; tolerance holds" in checked.stdout
    other = str(tiny_pinn(tmp_path / "other.onnx", seed=3))
    rejected = runner.invoke(cli, ["pinn-check", other, str(cert)])
    assert rejected.exit_code == 1 and "another network" in rejected.stdout


@pytest.mark.parametrize("args, words", [
    (["--pde", "heat"], "error: --pde: unknown pde 'heat'"),
    (["--domain", "0,1,-1"], "error: --domain: give four numbers"),
    (["--domain", "0,2,-1,1"], "error: --domain: t range [0.0, 2.0] leaves burgers's [0, 1]"),
    (["--conditions", "interior"], "error: --conditions:"),
    (["--pde", "schrodinger"], "schrodinger needs a network with 2 inputs (t, x) and 2 output(s)"),
])
def test_bad_input_is_exit_2_with_one_line(tmp_path, args, words):
    out = runner.invoke(cli, ["pinn", str(tiny_pinn(tmp_path / "pinn.onnx")), *args])
    assert out.exit_code == 2 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_relu_network_is_refused(tmp_path):
    out = runner.invoke(cli, ["pinn", str(relu_net(tmp_path / "relu.onnx"))])
    assert out.exit_code == 2 and "Tanh" in out.stderr
