"""Distributed verify jobs run end to end without a broker: the parent's attempt in one
thread, and worker threads that claim queued sub-jobs (real `run_attempt`s on the real
database) until the parent ends."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from app.db.models import Job
from app.db.session import session_scope
from worker.runner import run_attempt


def queued_parts(settings, parent_id: str) -> list[str]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Job.id).where(Job.parent_id == parent_id, Job.status == "queued")
                                    .order_by(Job.created_at, Job.id)))


def sub_jobs(settings, parent_id: str) -> list[Job]:
    with session_scope(settings.database_url) as session:
        jobs = list(session.scalars(select(Job).where(Job.parent_id == parent_id).order_by(Job.created_at, Job.id)))
        session.expunge_all()
    return jobs


class Workers:
    """`count` worker threads taking queued sub-jobs of `parent_id` while `running` is set;
    `on_claim(job_id)` may run a sub-job some other way (a process to kill) instead."""

    def __init__(self, settings, parent_id: str, count: int, on_claim=None) -> None:
        self.settings, self.parent_id, self.on_claim = settings, parent_id, on_claim
        self.running = threading.Event()
        self.running.set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in range(count)]

    def _loop(self, k: int) -> None:
        while self.running.is_set():
            with self.lock:
                queued = queued_parts(self.settings, self.parent_id)
            if not queued:
                time.sleep(0.05)
                continue
            if self.on_claim is not None and self.on_claim(queued[0]):
                continue
            run_attempt(self.settings, queued[0], f"w{k}@test")

    def __enter__(self) -> "Workers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=30)


def submit(api, body: dict) -> str:
    response = api.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def run_parallel_job(api, settings, body: dict, workers: int = 1, on_claim=None) -> dict:
    """Submit `body`, run its parent attempt here with `workers` threads for its sub-jobs,
    and return the job as GET /jobs/{id} shows it."""
    job_id = submit(api, body)
    with Workers(settings, job_id, workers, on_claim):
        run_attempt(settings, job_id, "parent@test")
    return api.get(f"/jobs/{job_id}").json()
