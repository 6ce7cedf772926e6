"""Sub-jobs of a distributed verify job that each do one share of a step the parent waits
for (`lemma-part`, `check-part`): created and sent together, then read back by share."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from app.db.models import Job, utcnow
from app.db.session import session_scope
from app.services import frontier
from app.services.job_state import TERMINAL

if TYPE_CHECKING:
    from worker.runner import JobContext


def dispatch(context: "JobContext", kind: str, configs: dict[int, dict], timeout_s: float) -> dict[int, str]:
    """One queued sub-job of `kind` per share k (its config `configs[k]`), sent on the
    parent's queue; their ids by share."""
    from app.services.queue import send
    from worker.celery_app import app as celery

    created = {}
    with session_scope(context.settings.database_url) as session:
        for k, config in configs.items():
            created[k] = frontier.new_sub_job(session, context.job, kind, config, timeout_s)
        session.expunge_all()
    for child in created.values():
        send(celery, context.settings, child)
    return {k: child.id for k, child in created.items()}


def states(context: "JobContext", ids: dict[int, str]) -> dict[int, Job]:
    """The sub-jobs' rows as they are now, by share."""
    with session_scope(context.settings.database_url) as session:
        jobs = {k: session.get(Job, job_id) for k, job_id in ids.items()}
        session.expunge_all()
    return jobs


def take_over(context: "JobContext", job_id: str) -> bool:
    """Claim a sub-job still queued (no worker took it) for the parent to do itself."""
    with session_scope(context.settings.database_url) as session:
        return frontier.take_over(session, job_id, context.job.id)


def cancel(context: "JobContext", ids: list[str]) -> None:
    """Ask these sub-jobs to stop (the parent goes on without their shares)."""
    from app.services.job_state import request_cancel

    with session_scope(context.settings.database_url) as session:
        for job_id in ids:
            job = session.get(Job, job_id)
            if job is not None and job.status not in TERMINAL:
                request_cancel(session, job)


def silent(context: "JobContext", job: Job) -> bool:
    """A running sub-job whose worker stopped sending heartbeats (dead, or cut off): the
    reaper will re-queue it, but a parent waiting on it need not wait for the reaper."""
    stale = timedelta(seconds=context.settings.heartbeat_stale_s)
    return job.status == "running" and job.heartbeat_at is not None and job.heartbeat_at < utcnow() - stale
