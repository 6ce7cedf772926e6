"""The reaper: no job stays "running" without a live worker, none stays queued unsent,
none waits for ever on a queue no worker consumes (an `auto` job moves from gpu to cpu).

Run at API start and every `reaper_interval_s`. Safe to run in several processes at
once: every change is a conditional update (see job_state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import Job, utcnow
from app.services.job_state import reap_one
from app.services.unserved import fail_unserved
from app.settings import Settings


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)

    def to_send(self) -> list[str]:
        """Jobs whose message must be (re)sent to the broker after the commit."""
        return self.requeued + self.resent


def reap(session: Session, settings: Settings) -> ReapReport:
    now = utcnow()
    report = ReapReport()
    stale = select(Job).where(Job.status == "running",
                              Job.heartbeat_at < now - timedelta(seconds=settings.heartbeat_stale_s))
    for job in session.scalars(stale).all():
        action = reap_one(session, job, settings.max_attempts, job.heartbeat_at)
        if action is not None:
            getattr(report, action).append(job.id)
    failed, rerouted = fail_unserved(session, now, settings.unserved_queue_fail_s)
    report.failed += failed
    report.resent += rerouted
    # A message can be lost (e.g. a SIGKILLed worker on the SQLite broker); re-sending is
    # harmless because only the first delivery can claim a queued job.
    forgotten = select(Job.id).where(Job.status == "queued",
                                     Job.enqueued_at < now - timedelta(seconds=settings.queued_resend_s))
    for job_id in session.scalars(forgotten).all():
        if session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(enqueued_at=now)).rowcount:
            report.resent.append(job_id)
    return report
