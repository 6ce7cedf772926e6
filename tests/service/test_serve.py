"""End to end: `certbound serve` as a subprocess on the embedded default (SQLite database
and broker), driven over HTTP with the token it prints, solving shared benchmark instances."""

from __future__ import annotations

import os
import signal
import stat
import time

import httpx
import pytest

from tests.service.support import ServeProcess, instance


@pytest.fixture
def served(tmp_path):
    serve = ServeProcess(tmp_path / "data", tmp_path / "serve.log").start()
    try:
        yield serve
    finally:
        serve.stop()


@pytest.mark.slow
def test_serve_solves_benchmark_instances_end_to_end(served, bundled_benchmarks):
    token = served.printed_token()
    assert (served.data_dir / "token").read_text().strip() == token
    assert stat.S_IMODE((served.data_dir / "token").stat().st_mode) == 0o600
    cases = [(instance(bundled_benchmarks, "mlp", "relu5", "relu5_sat"), "sat"),
             (instance(bundled_benchmarks, "mlp", "relu5", "relu5_unsat"), "unsat")]
    jobs = {}
    with httpx.Client(base_url=served.base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for (model_path, prop_path), expected in cases:
            model = client.post("/models", files={"file": (model_path.name, model_path.read_bytes())}).json()
            prop = client.post("/properties", files={"file": (prop_path.name, prop_path.read_bytes())}).json()
            response = client.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"], "timeout_s": 120})
            assert response.status_code == 202, response.text
            jobs[response.json()["id"]] = expected
        deadline = time.monotonic() + 240
        for job_id, expected in jobs.items():
            while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, job
                time.sleep(0.5)
            assert (job["status"], job["verdict"]) == ("succeeded", expected), job
            assert client.get(f"/jobs/{job_id}/certificate").status_code == 200


@pytest.mark.slow
def test_serve_restarts_a_worker_that_died(served):
    first = served.worker_pids()
    assert len(first) == 1
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not ((pids := served.worker_pids()) and pids != first):
        assert time.monotonic() < deadline, served.log.read_text()[-2000:]
        time.sleep(0.2)
    assert "starting another (restart 1)" in served.log.read_text()
