"""Queued jobs that no worker takes: failed with the reason after a bounded wait.

A `device: "cuda"` job goes to the gpu queue; where no worker consumes that queue it
would otherwise wait for ever, re-sent every `queued_resend_s`. Workers merely
restarting are not "no worker": a queue counts as served while any worker listing it
was seen within `unserved_queue_fail_s`, and a job fails only once it has itself
waited that long since it was (re-)queued.

An `auto` job sent to gpu while a GPU worker was live is not failed when GPU workers are
gone for good: it is moved to the cpu queue (gpu workers consume cpu too) and re-sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import Job, JobEvent, WorkerBeat
from app.services.job_state import record_event


def served_queues(session: Session, since: datetime) -> set[str]:
    """The queues of every worker seen at or after `since`."""
    rows = session.scalars(select(WorkerBeat.queues).where(WorkerBeat.last_seen >= since))
    return {name for queues in rows for name in queues.split(",") if name}


def queued_since(session: Session, job: Job) -> datetime:
    """When the job last became queued: its latest status event (enqueued_at moves
    with every re-send, so it cannot tell)."""
    latest = session.scalar(select(func.max(JobEvent.at)).where(JobEvent.job_id == job.id, JobEvent.type == "status"))
    return latest or job.created_at


def unserved_reason(queue: str, wait_s: float) -> str:
    if queue == "gpu":
        return (f"no worker consumes queue 'gpu': none with a GPU has been seen for {wait_s:g} s "
                "(start one with `certbound worker --gpu N`, or submit with device 'auto' or 'cpu')")
    return f"no worker consumes queue {queue!r}: none has been seen for {wait_s:g} s"


def reroute_to_cpu(session: Session, job: Job, now: datetime) -> bool:
    """Move a queued `auto` job off the unserved gpu queue; True when this call moved it."""
    moved = session.execute(update(Job).where(Job.id == job.id, Job.status == "queued", Job.queue == "gpu").values(
        queue="cpu", enqueued_at=now)).rowcount
    if moved:
        record_event(session, job.id, "status", {"status": "queued", "queue": "cpu", "action": "rerouted",
                                                 "reason": "no worker with a GPU is live; the job asked for device 'auto'"})
    return bool(moved)


def fail_unserved(session: Session, now: datetime, wait_s: float) -> tuple[list[str], list[str]]:
    """Fail the queued jobs whose queue had no live worker for `wait_s` (0 turns it off),
    except `auto` jobs on gpu, which move to cpu. Returns (failed, rerouted) job ids; the
    rerouted ones must be sent to the broker again."""
    if wait_s <= 0:
        return [], []
    cutoff = now - timedelta(seconds=wait_s)
    served = served_queues(session, cutoff)
    candidates = select(Job).where(Job.status == "queued", Job.created_at < cutoff, Job.queue.not_in(served))
    failed, rerouted = [], []
    for job in session.scalars(candidates).all():
        if queued_since(session, job) >= cutoff:
            continue
        if job.queue == "gpu" and (job.config or {}).get("device", "auto") != "cuda":
            if reroute_to_cpu(session, job, now):
                rerouted.append(job.id)
            continue
        reason = unserved_reason(job.queue, wait_s)
        done = session.execute(update(Job).where(Job.id == job.id, Job.status == "queued").values(
            status="failed", verdict="error", error=reason, finished_at=now)).rowcount
        if done:
            record_event(session, job.id, "status", {"status": "failed", "verdict": "error", "error": reason,
                                                     "action": "unserved"})
            failed.append(job.id)
    return failed, rerouted
