"""`certbound check NET PROP CERT` on a shared benchmark instance."""

from __future__ import annotations

import gzip
import importlib

from typer.testing import CliRunner

from app.cli import cli
from core.spec import load_property
from tests.core.certificate.producer import produce


def test_check_command_answers_valid_and_invalid(benchmarks_dir, tmp_path):
    net = benchmarks_dir / "test/onnx/test_small.onnx.gz"
    prop = benchmarks_dir / "test/vnnlib/test_small.vnnlib.gz"
    certificate = produce(gzip.decompress(net.read_bytes()), load_property(prop), "input")
    certificate.save(tmp_path / "small.cert")
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", str(net), str(prop), str(tmp_path / "small.cert")])
    assert ok.exit_code == 0 and ok.output.startswith("valid"), ok.output
    other = benchmarks_dir / "test/vnnlib/test_nano.vnnlib.gz"  # test_tiny's property means the same
    wrong = runner.invoke(cli, ["check", str(net), str(other), str(tmp_path / "small.cert")])
    assert wrong.exit_code == 1 and wrong.output.startswith("invalid: the certificate is for another property")
    (tmp_path / "garbage.cert").write_bytes(b"not a zip at all")
    garbage = runner.invoke(cli, ["check", str(net), str(prop), str(tmp_path / "garbage.cert")])
    assert garbage.exit_code == 1 and garbage.output.startswith("invalid: ")
    assert "is neither a certbound certificate (zip) nor a VNN-COMP result file" in garbage.output
    missing = runner.invoke(cli, ["check", str(net), str(prop), str(tmp_path / "none.cert")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    late = runner.invoke(cli, ["check", str(net), str(prop), str(tmp_path / "small.cert"), "--timeout", "0"])
    assert late.exit_code == 3 and late.output.startswith("stopped: the check did not finish within"), late.output


def test_the_check_runs_on_one_blas_thread_and_gives_the_count_back(benchmarks_dir, monkeypatch):
    """The checker's NumPy products use CHECK_BLAS_THREADS (one), whatever the machine, and
    the process's own BLAS setting is back once the check returns."""
    from threadpoolctl import threadpool_info, threadpool_limits

    check_module = importlib.import_module("core.certificate.check")  # the package's `check` is the function

    net = benchmarks_dir / "test/onnx/test_small.onnx.gz"
    prop = load_property(benchmarks_dir / "test/vnnlib/test_small.vnnlib.gz")
    certificate = produce(gzip.decompress(net.read_bytes()), prop, "input")
    blas = lambda: {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}  # noqa: E731
    seen, inner = [], check_module._check

    def watched(*args):
        seen.append(blas())
        return inner(*args)

    monkeypatch.setattr(check_module, "_check", watched)
    with threadpool_limits(limits=2, user_api="blas"):
        assert check_module.check(net, prop, certificate).valid
        assert seen == [{check_module.CHECK_BLAS_THREADS}] and blas() == {2}
