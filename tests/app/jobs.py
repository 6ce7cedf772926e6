"""A job run end to end without a broker: submitted through the API, then one real worker
attempt (`worker.runner.run_attempt`) claims and runs it."""

from __future__ import annotations

from worker.runner import run_attempt


def run_job(api, api_settings, body: dict, queue: str | None = None) -> dict:
    """Submit `body` (202), check the queue it lands on when `queue` is given, run it to
    success, and return the job as GET /jobs/{id} shows it."""
    response = api.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    if queue is not None:
        assert api.get(f"/jobs/{job_id}").json()["queue"] == queue
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    return api.get(f"/jobs/{job_id}").json()
