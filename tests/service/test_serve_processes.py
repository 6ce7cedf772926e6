"""`certbound serve` and its worker's process tree (real processes, read from /proc): the
worker and its pool never outlive serve, and a restarted serve runs exactly one worker."""

from __future__ import annotations

import os
import signal
import sys
import time

import httpx
import pytest

from tests.service.proctree import gone_after, tree, wait_for, worker_mains, workers_for
from tests.service.support import UNDECIDABLE, ServeProcess, instance
from worker.lifeline import hold_lock, lock_path

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

def full_tree(serve: ServeProcess) -> set[int]:
    """serve, its worker and the worker's pool process, once all three exist."""
    def ready() -> set[int] | None:
        pids = tree(serve.process.pid)
        return pids if len(pids) >= 3 else None

    return wait_for(ready, 60, "no worker pool under serve")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_sigterm_of_serve_ends_the_worker_and_its_pool(data_dir, tmp_path):
    serve = ServeProcess(data_dir, tmp_path / "serve.log").start()
    try:
        pids = full_tree(serve)
        os.kill(serve.process.pid, signal.SIGTERM)
        seconds = gone_after(pids)
        assert serve.process.wait(timeout=5) != 0
    finally:
        serve.stop()
    print(f"SIGTERM of serve: serve, worker and pool ({len(pids)} processes) gone after {seconds:.2f} s")
    assert not workers_for(data_dir)


def test_sigkill_of_serve_ends_the_worker_and_a_restart_runs_one_worker_that_reruns_the_job(
        data_dir, tmp_path, bundled_benchmarks):
    # Short staleness and reaper period, so that the killed attempt is noticed in seconds.
    env = {"CERTBOUND_HEARTBEAT_INTERVAL_S": "0.5", "CERTBOUND_HEARTBEAT_STALE_S": "4", "CERTBOUND_REAPER_INTERVAL_S": "1"}
    first = ServeProcess(data_dir, tmp_path / "first.log", env=env).start()
    headers = {"Authorization": f"Bearer {first.printed_token()}"}
    try:
        with httpx.Client(base_url=first.base, headers=headers, timeout=30) as client:
            model_path, prop_path = instance(bundled_benchmarks, *UNDECIDABLE)
            model = client.post("/models", files={"file": (model_path.name, model_path.read_bytes())}).json()
            prop = client.post("/properties", files={"file": (prop_path.name, prop_path.read_bytes())}).json()
            job_id = client.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"],
                                                "timeout_s": 600}).json()["id"]
            first_run = wait_for(lambda: (job := client.get(f"/jobs/{job_id}").json())["status"] == "running" and job,
                                 120, "the job never started")
        pids = full_tree(first)
        os.kill(first.process.pid, signal.SIGKILL)
        seconds = gone_after(pids)
        print(f"SIGKILL of serve: serve, worker and pool ({len(pids)} processes) gone after {seconds:.2f} s")
    finally:
        first.stop()

    second = ServeProcess(data_dir, tmp_path / "second.log", env=env).start()
    try:
        time.sleep(5)  # a second worker, if one were started, would be up by now
        assert len(worker_mains(data_dir)) == 1, workers_for(data_dir)
        with httpx.Client(base_url=second.base, headers=headers, timeout=30) as client:
            live = wait_for(lambda: len(w := client.get("/healthz").json()["workers"]) == 1 and w, 20,
                            f"not exactly one live worker: {client.get('/healthz').json()}")
            rerun = wait_for(lambda: (job := client.get(f"/jobs/{job_id}").json())["attempts"] == 2
                             and job["status"] == "running" and job, 90, f"not re-run: {client.get(f'/jobs/{job_id}').json()}")
            assert rerun["worker"] == live[0]["name"] != first_run["worker"]
            assert rerun["started_at"] > first_run["started_at"]
            events = client.get(f"/jobs/{job_id}/events").json()
            requeued = [e["data"] for e in events if e["type"] == "status" and e["data"].get("action") == "requeued"]
            assert requeued and requeued[0]["previous_attempt"]["worker"] == first_run["worker"]
            client.post(f"/jobs/{job_id}/cancel")
            wait_for(lambda: client.get(f"/jobs/{job_id}").json()["status"] == "cancelled", 60, "cancel ignored")
    finally:
        second.stop()


def test_serve_starts_no_worker_while_another_holds_the_data_directory(data_dir, tmp_path):
    data_dir.mkdir()
    lock = hold_lock(lock_path(data_dir))
    serve = ServeProcess(data_dir, tmp_path / "serve.log").start(need_worker=False)
    try:
        time.sleep(5)
        assert not worker_mains(data_dir)
        assert f"a worker (pid {os.getpid()}) still serves this data directory" in serve.log.read_text()
        lock.close()
        wait_for(lambda: worker_mains(data_dir), 60, "no worker after the lock was released")
    finally:
        serve.stop()
