"""Jobs through a real worker subprocess: run, progress, verdicts, cancel, time limits."""

from __future__ import annotations

import time

import pytest

from core.certificate import check
from core.counterexample import read_result
from tests.service.support import instance


def test_inspect_job_runs_on_the_worker(wapi, bundled_benchmarks):
    model = wapi.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz")
    job_id = wapi.submit(model, kind="inspect")
    # Server-sent events follow the job from the start until it finishes.
    stream = wapi.get(f"/jobs/{job_id}/events", headers={"Accept": "text/event-stream"}).text
    assert "event: progress" in stream and '"succeeded"' in stream and stream.endswith("event: end\ndata: {}\n\n")
    job = wapi.wait(job_id)
    assert (job["status"], job["attempts"], job["error"]) == ("succeeded", 1, None), job
    assert job["result"]["nodes"] > 0 and job["result"]["sha256"] == model["sha256"]
    assert job["started_at"] >= job["created_at"] and job["finished_at"] >= job["started_at"]
    events = wapi.get(f"/jobs/{job_id}/events").json()
    statuses = [e["data"]["status"] for e in events if e["type"] == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    assert [e["data"]["phase"] for e in events if e["type"] == "progress"] == ["loading", "done"]
    assert wapi.get(f"/jobs/{job_id}/certificate").status_code == 409  # an inspect job has no file


@pytest.mark.parametrize("onnx, vnnlib, verdict, artifact", [
    ("relu5", "relu5_sat", "sat", "counterexample"),
    ("relu5", "relu5_unsat", "unsat", "certificate"),
])
def test_verify_job_returns_the_expected_verdict(wapi, bundled_benchmarks, tmp_path, onnx, vnnlib, verdict, artifact):
    model_path, prop_path = instance(bundled_benchmarks, "mlp", onnx, vnnlib)
    job_id = wapi.submit(wapi.upload_ok("models", model_path), wapi.upload_ok("properties", prop_path), timeout_s=60)
    job = wapi.wait(job_id)
    assert (job["status"], job["verdict"]) == ("succeeded", verdict), job
    certificate = wapi.get(f"/jobs/{job_id}/certificate")
    assert certificate.status_code == 200
    assert certificate.headers["x-certbound-kind"] == artifact == job["evidence"]["kind"]
    assert certificate.headers["x-certbound-sha256"] == job["evidence"]["sha256"]
    saved = tmp_path / job["evidence"]["filename"]
    saved.write_bytes(certificate.content)
    if artifact == "counterexample":
        _, x, y = read_result(saved)
        assert len(x) == 5 and len(y) == 5
    else:
        assert check(model_path, prop_path, saved).valid
    assert job["result"]["check"]["valid"] is True, job["result"]["check"]
    assert job["result"]["check"]["time_s"] >= 0 and isinstance(job["result"]["check"]["reason"], str)


@pytest.mark.slow
def test_acas_xu_instance_returns_its_expected_verdict(wapi, benchmarks_dir):
    model_path, prop_path = instance(benchmarks_dir, "acasxu", "ACASXU_run2a_1_1_batch_2000", "prop_1")
    job_id = wapi.submit(wapi.upload_ok("models", model_path), wapi.upload_ok("properties", prop_path), timeout_s=116)
    job = wapi.wait(job_id, timeout=150)
    assert (job["status"], job["verdict"]) == ("succeeded", "unsat"), job
    assert wapi.get(f"/jobs/{job_id}/certificate").headers["x-certbound-kind"] == "certificate"


def test_cancel_a_running_job(wapi, undecidable):
    model_path, prop_path = undecidable
    job_id = wapi.submit(wapi.upload_ok("models", model_path), wapi.upload_ok("properties", prop_path), timeout_s=120)
    wapi.wait(job_id, until=("running",), timeout=60)
    time.sleep(1.0)
    asked = time.monotonic()
    assert wapi.post(f"/jobs/{job_id}/cancel").status_code == 202
    job = wapi.wait(job_id, timeout=15)
    assert job["status"] == "cancelled", job
    assert time.monotonic() - asked < 10
    types = [e["type"] for e in wapi.get(f"/jobs/{job_id}/events").json()]
    assert "cancel" in types and types[-1] == "status"


@pytest.mark.slow
def test_a_job_that_runs_out_of_time_ends_with_verdict_timeout(wapi, worker_settings, undecidable):
    model_path, prop_path = undecidable
    started = time.monotonic()
    job_id = wapi.submit(wapi.upload_ok("models", model_path), wapi.upload_ok("properties", prop_path), timeout_s=2)
    job = wapi.wait(job_id, timeout=60)
    assert (job["status"], job["verdict"]) == ("succeeded", "timeout"), job
    # The engine stops at timeout_s, or else the soft limit stops it; never the hard limit.
    assert time.monotonic() - started < 2 + worker_settings.soft_limit_grace_s + 15
