"""Celery tasks: thin wrappers that hand a job id to the runner."""

from __future__ import annotations

from celery import Task
from celery.exceptions import TimeLimitExceeded

from app.settings import get_settings
from worker.celery_app import RUN_JOB, app
from worker.runner import fail_after_hard_limit, run_attempt


class JobTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # A hard time limit kills the pool process, so the runner never records it;
        # Celery calls this in the worker's main process instead.
        if isinstance(exc, TimeLimitExceeded) and args:
            fail_after_hard_limit(get_settings(), args[0], float(exc.args[0]) if exc.args else 0.0)


@app.task(name=RUN_JOB, base=JobTask, bind=True)
def run_job(self: Task, job_id: str) -> str | None:
    """Run job `job_id` (the message carries nothing else: the job row is the truth)."""
    return run_attempt(get_settings(), job_id, self.request.hostname)
