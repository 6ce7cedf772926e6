"""Health and metrics: what /healthz and /metrics report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db.models import Job, Model, Property, Token, WorkerBeat, utcnow
from app.settings import Settings


def live_workers(session: Session, settings: Settings) -> list[dict[str, Any]]:
    since = utcnow() - timedelta(seconds=3 * settings.heartbeat_interval_s + 1)
    rows = session.scalars(select(WorkerBeat).where(WorkerBeat.last_seen >= since).order_by(WorkerBeat.name))
    return [{"name": row.name, "queues": row.queues.split(",")} for row in rows]


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - the report names whatever went wrong
        return f"error: {type(exc).__name__}: {exc}"
    return "ok"


def health(session: Session, celery: Celery, settings: Settings) -> dict[str, Any]:
    """Database and broker reachability and the workers seen recently; `ok` is False
    when the database or broker is down (no worker is only `degraded`)."""

    def probe_broker() -> None:
        with celery.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)

    database = _check(lambda: session.execute(text("SELECT 1")))
    broker = _check(probe_broker)
    workers = live_workers(session, settings) if database == "ok" else []
    ok = database == "ok" and broker == "ok"
    return {"status": "ok" if ok and workers else ("degraded" if ok else "down"), "ok": ok,
            "database": database, "broker": broker, "workers": workers}


def metrics_text(session: Session, settings: Settings) -> str:
    """Prometheus text exposition of job, upload and worker counts."""
    lines = ["# HELP certbound_jobs Jobs by kind, status and verdict.", "# TYPE certbound_jobs gauge"]
    counts = session.execute(select(Job.kind, Job.status, Job.verdict, func.count()).group_by(Job.kind, Job.status, Job.verdict))
    for kind, status, verdict, count in counts:
        lines.append(f'certbound_jobs{{kind="{kind}",status="{status}",verdict="{verdict or ""}"}} {count}')
    for name, table, what in (("models", Model, "Uploaded models."), ("properties", Property, "Uploaded properties."),
                              ("tokens", Token, "API tokens (owners).")):
        lines += [f"# HELP certbound_{name} {what}", f"# TYPE certbound_{name} gauge",
                  f"certbound_{name} {session.scalar(select(func.count()).select_from(table))}"]
    lines += ["# HELP certbound_workers_live Workers that sent a heartbeat recently.", "# TYPE certbound_workers_live gauge",
              f"certbound_workers_live {len(live_workers(session, settings))}"]
    return "\n".join(lines) + "\n"
