"""Job state transitions shared by the worker and the reaper.

Every transition is one conditional UPDATE, so two parties (a worker and the reaper,
or a stale duplicate message and a fresh one) can never both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import Job, JobEvent, isoformat, utcnow

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def record_event(session: Session, job_id: str, type_: str, data: dict[str, Any]) -> None:
    session.add(JobEvent(job_id=job_id, at=utcnow(), type=type_, data=data))


def request_cancel(session: Session, job: Job) -> None:
    """Cancel an unfinished job: a queued one at once, a running one is asked to stop (its
    worker sees the flag through its heartbeat and the engine's progress callback)."""
    job.cancel_requested = True
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", utcnow()
        record_event(session, job.id, "status", {"status": "cancelled"})
    else:
        record_event(session, job.id, "cancel", {"requested": True})


def claim(session: Session, job_id: str, worker: str) -> int | None:
    """Mark a queued job running on `worker`; returns its attempt number, or None when
    the job is not queued (cancelled, finished, or already claimed by a duplicate)."""
    now = utcnow()
    done = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", attempts=Job.attempts + 1, worker=worker, started_at=now, heartbeat_at=now)
    ).rowcount
    if not done:
        return None
    attempt = session.scalar(select(Job.attempts).where(Job.id == job_id))
    record_event(session, job_id, "status", {"status": "running", "worker": worker, "attempt": attempt})
    return attempt


def _mine(job_id: str, attempt: int):
    return (Job.id == job_id, Job.status == "running", Job.attempts == attempt)


def beat(session: Session, job_id: str, attempt: int, progress: dict[str, Any] | None = None) -> bool | None:
    """Refresh the heartbeat (and latest progress) of our attempt; returns whether a
    cancel was requested, or None when the job is no longer ours (reaped)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    if not session.execute(update(Job).where(*_mine(job_id, attempt)).values(**values)).rowcount:
        return None
    return cancel_asked(session, job_id)


def cancel_asked(session: Session, job_id: str) -> bool:
    """Whether a cancel of the job was requested (read fresh from the database)."""
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish(session: Session, job_id: str, attempt: int, *, status: str, verdict: str | None,
           error: str | None = None, result: dict[str, Any] | None = None) -> bool:
    """Record the outcome of our attempt; False when the job was meanwhile reaped."""
    assert status in TERMINAL, status
    done = session.execute(
        update(Job).where(*_mine(job_id, attempt))
        .values(status=status, verdict=verdict, error=error, result=result, finished_at=utcnow())
    ).rowcount
    if done:
        record_event(session, job_id, "status", {"status": status, "verdict": verdict, "error": error})
    return bool(done)


def reap_one(session: Session, job: Job, max_attempts: int, observed_heartbeat: datetime | None) -> str | None:
    """Settle a running job whose worker went silent: cancel it if that was asked, re-queue
    it once more if attempts remain, else fail it with the reason. Returns the action."""
    silent = f"worker {job.worker!r} stopped sending heartbeats (last at {observed_heartbeat}Z) during attempt {job.attempts}"
    now = utcnow()
    before = previous_attempt(job, observed_heartbeat)  # read now: the update below refreshes `job`
    if job.cancel_requested:
        action, values = "cancelled", {"status": "cancelled", "finished_at": now}
    elif job.attempts < max_attempts:
        # The next attempt starts afresh: nothing of the dead one may look like its own.
        action, values = "requeued", {"status": "queued", "worker": None, "enqueued_at": now, "heartbeat_at": None,
                                      "started_at": None, "progress": None}
    else:
        action, values = "failed", {"status": "failed", "verdict": "error", "finished_at": now,
                                    "error": f"{silent}; gave up after {job.attempts} attempts"}
    done = session.execute(
        update(Job).where(Job.id == job.id, Job.status == "running", Job.attempts == job.attempts,
                          Job.heartbeat_at == observed_heartbeat).values(**values)
    ).rowcount
    if not done:
        return None
    event = {"status": values["status"], "reason": silent, "action": action}
    if action == "requeued":
        event["previous_attempt"] = before
    record_event(session, job.id, "status", event)
    return action


def previous_attempt(job: Job, observed_heartbeat: datetime | None) -> dict[str, Any]:
    """What a re-queue clears from the job row, kept in its event."""
    return {"attempt": job.attempts, "worker": job.worker, "started_at": isoformat(job.started_at),
            "last_heartbeat": isoformat(observed_heartbeat), "progress": job.progress}
