"""Queries the web dashboard needs beyond the API's: counts, names, chart series and figures.

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


def running_best(values: list[float | None]) -> list[float | None]:
    """The best (largest) lower bound reported so far at each point; None before the first.
    Sound because each report is a lower bound of the whole property (core.bab.budget), so
    a later, smaller one is no reason to show a worse bound (a re-run starts over low)."""
    best: float | None = None
    out = []
    for value in values:
        if value is not None and (best is None or value > best):
            best = value
        out.append(best)
    return out


def progress_reports(session: Session, job_id: str) -> list[dict[str, Any]]:
    """The job's progress reports, oldest first (their data only: a long job has thousands)."""
    query = (select(JobEvent.data).where(JobEvent.job_id == job_id, JobEvent.type == "progress")
             .order_by(JobEvent.id))
    return list(session.scalars(query))


def search_parts(session: Session, job: Job) -> list[dict[str, Any]]:
    """A distributed verify job's holders, itself first then its sub-jobs (docs/distributed.md):
    each job row, and its open frontier over its own elapsed time as SVG polyline points
    (`points`, in a 160 x 32 box) with the largest it reached (`peak`). Empty for other jobs."""
    if job.kind != "verify" or (job.config or {}).get("parallel") in (None, 1):
        return []
    kids = list(session.scalars(select(Job).where(Job.parent_id == job.id).order_by(Job.created_at, Job.id)))
    parts = []
    for holder in [job, *kids]:
        reports = progress_reports(session, holder.id) if holder.kind in ("verify", "verify-part") else []
        series = [(r.get("elapsed_s") or 0.0, r.get("domains_open") or 0) for r in reports if "domains_open" in r]
        parts.append({"job": holder, "points": sparkline(series), "peak": max((n for _, n in series), default=0)})
    return parts if kids else []


def sparkline(series: list[tuple[float, float]], width: int = 160, height: int = 32) -> str:
    """(x, y) pairs scaled into a width x height box (y up) as SVG polyline points."""
    if not series:
        return ""
    x_max = max(x for x, _ in series) or 1.0
    y_max = max(y for _, y in series) or 1.0
    return " ".join(f"{x / x_max * width:.1f},{height - y / y_max * height:.1f}" for x, y in series)


def last_event_id(session: Session, job_id: str) -> int:
    """The id of the job's newest event (0 without any): where its live stream resumes."""
    return session.scalar(select(func.max(JobEvent.id)).where(JobEvent.job_id == job_id)) or 0


def progress_series(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The verify chart's data, one entry per progress report: elapsed seconds, the best
    global lower bound so far (None before the engine had one) and open domains."""
    return {"elapsed_s": [report.get("elapsed_s", 0.0) for report in reports],
            "lower_bound": running_best([report.get("lower_bound") for report in reports]),
            "domains_open": [report.get("domains_open", 0) for report in reports]}


def verify_figures(job: Job, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """What the progress panel shows of a verify job: its latest report, with the best bound
    over every report and, once it has finished, the result's own figures (the latest report
    may come from a later step, or from a re-run that stopped early)."""
    latest = {"phase": None, "domains_visited": 0, "domains_open": 0, "lower_bound": None, "elapsed_s": 0.0,
              **(job.progress or {})}
    result = job.result or {}
    bounds = [report.get("lower_bound") for report in reports] + [latest["lower_bound"], result.get("lower_bound")]
    visited = [report.get("domains_visited") or 0 for report in reports]
    return {**latest, "best_bound": running_best(bounds)[-1],
            "domains_visited": max([latest["domains_visited"] or 0, result.get("domains_visited") or 0, *visited]),
            "elapsed_s": result.get("elapsed_s", latest["elapsed_s"]) if job.finished_at else latest["elapsed_s"]}


# What each figure of a train job's accuracy report is, and its sample count's key.
ACCURACIES = (("clean accuracy", "clean", "samples"), ("PGD accuracy", "pgd", "samples"),
              ("IBP verified", "ibp", "samples"), ("CROWN verified", "crown", "crown_samples"),
              ("α-CROWN verified", "alpha_crown", "alpha_samples"),
              ("complete verifier verified", "complete", "complete_samples"))
EPOCH_FIGURES = ("loss", "train_accuracy", "test_clean", "test_ibp_verified")


def accuracy_rows(report: dict[str, Any] | None) -> list[tuple[str, float | None, int]]:
    """A train job's evaluation report as (what, fraction or None when skipped, test examples)."""
    if not report:
        return []
    return [(label, report.get(key), report.get(samples, 0)) for label, key, samples in ACCURACIES]


def epoch_history(job: Job, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A train job's per-epoch figures: the result's history once it has one, else the
    epoch reports so far."""
    history = (job.result or {}).get("history")
    return history if history is not None else [report for report in reports if report.get("phase") == "epoch"]


def training_series(job: Job, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The training chart's data, one entry per epoch (`epoch_history`)."""
    history = epoch_history(job, reports)
    series = {"epoch": [entry.get("epoch") for entry in history]}
    series.update({name: [entry.get(name) for entry in history] for name in EPOCH_FIGURES})
    return series


def owned_choices(session: Session, row_type: type[Model] | type[Property], owner: Token,
                  limit: int = 200) -> list[tuple[str, str]]:
    """The owner's newest models or properties as (id, filename), for the submit form."""
    query = (select(row_type.id, row_type.filename).where(row_type.owner_id == owner.id)
             .order_by(row_type.created_at.desc()).limit(limit))
    return [tuple(row) for row in session.execute(query).all()]
