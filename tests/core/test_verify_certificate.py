"""`certbound verify --certificate` and `core.verifier.certify`: what backs each verdict, checked independently."""

import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.certificate import Certificate, check
from core.config import VerifyConfig
from core.counterexample import read_result
from core.model import load_network
from core.result import Verdict
from core.spec import load_property
from core.verifier import verify
from core.verifier.certify import certificate_of, certify, replay

runner = CliRunner()


def test_unsat_writes_a_certificate_the_checker_accepts(bundled_benchmarks, tmp_path):
    net, prop = bundled_benchmarks / "mlp/onnx/tiny.onnx.gz", bundled_benchmarks / "mlp/vnnlib/tiny_unsat.vnnlib.gz"
    cert = tmp_path / "tiny.cert"
    result = runner.invoke(cli, ["verify", str(net), str(prop), "--device", "cpu", "--certificate", str(cert)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("unsat ")
    assert Certificate.load(cert).targets
    checked = runner.invoke(cli, ["check", str(net), str(prop), str(cert)])
    assert checked.exit_code == 0 and checked.stdout.startswith("valid"), checked.output


def test_sat_writes_the_counterexample_in_vnncomp_format(bundled_benchmarks, tmp_path):
    folder = bundled_benchmarks / "mlp"
    cert = tmp_path / "sat.txt"
    result = runner.invoke(cli, ["verify", str(folder / "onnx/relu5.onnx.gz"), str(folder / "vnnlib/relu5_sat.vnnlib.gz"),
                                 "--timeout", "60", "--device", "cpu", "--certificate", str(cert)])
    assert result.exit_code == 0, result.output
    verdict, x, y = read_result(cert)
    assert verdict == Verdict.SAT and x is not None and y is not None


def test_certify_checks_the_unsat_proof_and_replay_confirms_the_sat_point(bundled_benchmarks):
    folder = bundled_benchmarks / "mlp"
    network, prop = load_network(folder / "onnx/relu5.onnx.gz"), load_property(folder / "vnnlib/relu5_unsat.vnnlib.gz")
    result = verify(network, prop, VerifyConfig(timeout_s=30, device="cpu"))
    assert result.verdict is Verdict.UNSAT
    certified = certify(network, prop, result)
    assert certified.check.valid, certified.check.reason
    assert check(network.onnx_bytes, prop, certified.data).valid
    assert set(certified.summary()) == {"valid", "reason", "time_s", "stopped"}
    # The same proof bound to another property is rejected.
    other = load_property(folder / "vnnlib/relu5_sat.vnnlib.gz")
    assert not check(network.onnx_bytes, other, certified.data).valid

    sat = verify(network, other, VerifyConfig(timeout_s=30, device="cpu"))
    assert sat.verdict is Verdict.SAT
    replayed = replay(network.onnx_bytes, other, sat.counterexample)
    assert replayed["valid"] and replayed["time_s"] >= 0
    with pytest.raises(ValueError, match="only an unsat result"):
        certificate_of(network, other, sat)


def _unfounded_unsat():
    """A network, a property it violates, and an `unsat` result claiming the root is closed."""
    import numpy as np

    from core.result import VerifyResult
    from tests.core.certificate.nets import exact_min, onnx_bytes, one_row_property, random_layers

    rng = np.random.default_rng(1)
    layers = random_layers(rng, [2, 6, 1])
    lower, upper, c = -np.ones(2), np.ones(2), np.ones(1)
    prop = one_row_property(lower, upper, c, exact_min(layers, lower, upper, c) + 0.1)  # reachable: sat
    claim = VerifyResult(Verdict.UNSAT, certificate={"targets": [{"region": 0, "disjunct": 0, "closed_by": "crown"}]},
                         message="")
    return load_network(onnx_bytes(layers)), prop, claim


def test_an_unsat_whose_certificate_fails_the_check_is_reported_unknown():
    from core.verifier.certify import certified_result

    network, prop, claim = _unfounded_unsat()
    result, certified = certified_result(network, prop, claim)
    assert result.verdict is Verdict.UNKNOWN and result.certificate is None
    assert "certificate check failed" in result.message and not certified.check.valid
    assert certified.check.reason in result.message
    broken = claim.__class__(Verdict.UNSAT, certificate={"targets": []})
    result, certified = certified_result(network, prop, broken)
    assert result.verdict is Verdict.UNKNOWN and "has no proof" in result.message


def test_the_verify_job_downgrades_an_unsat_that_does_not_check():
    from worker.kinds.verify import verify_outcome

    outcome = verify_outcome(*_unfounded_unsat())
    assert outcome.verdict == "unknown" and outcome.status == "succeeded"
    assert "certificate check failed" in outcome.result["message"]
    assert outcome.result["check"]["valid"] is False and "certificate" not in outcome.artifacts


def test_an_unsat_whose_check_runs_out_of_time_is_unknown_and_keeps_its_certificate(benchmarks_dir):
    """The check has a time limit (a job's timeout times `check_time_factor`): past it the
    answer is unknown, saying the check did not finish, and the certificate is kept."""
    from core.verifier.certify import certified_result
    from worker.kinds.verify import verify_outcome

    folder = benchmarks_dir / "acasxu"
    network = load_network(folder / "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz")
    prop = load_property(folder / "vnnlib/prop_1.vnnlib.gz")
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu"))
    assert result.verdict is Verdict.UNSAT
    late, certified = certified_result(network, prop, result, check_time_limit_s=0.0)
    assert late.verdict is Verdict.UNKNOWN and "did not finish" in late.message and "certbound check" in late.message
    assert certified.check.stopped and not certified.check.valid and str(certified.check).startswith("stopped: ")
    outcome = verify_outcome(network, prop, result, 0.0)
    assert outcome.verdict == "unknown" and outcome.result["check"]["stopped"] is True
    kept = outcome.artifacts["certificate"]  # the zip itself
    assert check(network.onnx_bytes, prop, kept).valid  # offline, without a limit
    in_time, certified = certified_result(network, prop, result, check_time_limit_s=600.0)
    assert in_time.verdict is Verdict.UNSAT and certified.check.valid and not certified.check.stopped
