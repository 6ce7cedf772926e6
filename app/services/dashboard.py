"""Queries the web dashboard needs beyond the API's: counts, names and chart series.

Everything here is scoped to one owner, except the queue figures of the status strip,
which are aggregate counts that reveal nothing about anyone's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Job, JobEvent, Model, Property, Token


@dataclass(frozen=True)
class QueueFigures:
    """What the status strip shows: jobs waiting and running across all owners."""

    queued: int
    running: int


def count_jobs(session: Session, owner: Token, *, status: str | None = None, kind: str | None = None) -> int:
    """How many of the owner's jobs match the list page's filters."""
    query = select(func.count()).select_from(Job).where(Job.owner_id == owner.id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return session.scalar(query) or 0


def input_names(session: Session, jobs: list[Job]) -> tuple[dict[str, str], dict[str, str]]:
    """Filenames of the models and properties the given jobs use, by id (two queries,
    however many jobs)."""
    model_ids = {job.model_id for job in jobs if job.model_id}
    property_ids = {job.property_id for job in jobs if job.property_id}
    return _filenames(session, Model, model_ids), _filenames(session, Property, property_ids)


def _filenames(session: Session, row_type: type[Model] | type[Property], ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(row_type.id, row_type.filename).where(row_type.id.in_(ids))).all())


def jobs_of_model(session: Session, owner: Token, model_id: str, limit: int = 50) -> list[Job]:
    """The owner's newest jobs on one model."""
    query = (select(Job).where(Job.owner_id == owner.id, Job.model_id == model_id)
             .order_by(Job.created_at.desc(), Job.id.desc()).limit(limit))
    return list(session.scalars(query))


def queue_figures(session: Session) -> QueueFigures:
    counts = dict(session.execute(select(Job.status, func.count()).where(Job.status.in_(("queued", "running")))
                                  .group_by(Job.status)).all())
    return QueueFigures(queued=counts.get("queued", 0), running=counts.get("running", 0))


def progress_series(events: list[JobEvent]) -> dict[str, Any]:
    """The chart's data from a job's events: elapsed seconds, global lower bound (None
    where the engine had none yet) and open domains, one entry per progress event;
    `last_event` is the id to resume the live stream after."""
    reports = [event.data for event in events if event.type == "progress"]
    return {"elapsed_s": [report.get("elapsed_s", 0.0) for report in reports],
            "lower_bound": [report.get("lower_bound") for report in reports],
            "domains_open": [report.get("domains_open", 0) for report in reports],
            "last_event": events[-1].id if events else 0}
