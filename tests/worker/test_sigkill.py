"""A worker SIGKILLed during a job: the job is re-run by another worker, and failed with
the reason when that one dies too. Never stuck "running"."""

from __future__ import annotations

import time

import pytest

from app.services.maintenance import run_maintenance
from tests.service.support import BACKENDS, Api, WorkerProcess, backend_settings, client_for, new_token


def reap_until(api: Api, settings, client, job_id: str, status: str, attempts: int, timeout: float = 30.0) -> dict:
    """Run the reaper (as the API does every minute) until the job is `status` in attempt `attempts`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_maintenance(settings, client.app.state.celery)
        job = api.get(f"/jobs/{job_id}").json()
        if (job["status"], job["attempts"]) == (status, attempts):
            return job
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} never became {status}: {job}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_killed_worker_s_job_is_rerun_then_failed_with_the_reason(backend, undecidable):
    settings, data_dir = backend
    with client_for(settings) as client:
        api = Api(client, new_token(settings))
        model, prop = api.upload_ok("models", undecidable[0]), api.upload_ok("properties", undecidable[1])
        first = WorkerProcess(settings, data_dir / "first.log").start()
        job_id = api.submit(model, prop, timeout_s=300)
        job = api.wait(job_id, until=("running",), timeout=60)
        assert job["worker"].startswith(first.name)
        first.kill()

        second = WorkerProcess(settings, data_dir / "second.log").start()
        try:
            job = reap_until(api, settings, client, job_id, "running", 2)
            assert job["attempts"] == 2 and job["worker"].startswith(second.name), job
            second.kill()
            job = reap_until(api, settings, client, job_id, "failed", 2)
        finally:
            second.stop()
    assert job["verdict"] == "error" and "gave up after 2 attempts" in job["error"]
    reasons = [e["data"].get("action") for e in api.get(f"/jobs/{job_id}/events").json() if e["type"] == "status"]
    assert reasons.count("requeued") == 1 and reasons[-1] == "failed"


@pytest.fixture
def backend(request, tmp_path):
    with backend_settings(request, tmp_path) as settings:
        yield settings, tmp_path
