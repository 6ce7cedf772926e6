"""Periodic housekeeping in the API process: the reaper and the SQLite broker's cleanup."""

from __future__ import annotations

import logging

from celery import Celery
from sqlalchemy import create_engine, inspect, text

from app.db.models import Job
from app.db.session import session_scope
from app.periodic import Ticker
from app.services.queue import send
from app.services.reaper import ReapReport, reap
from app.settings import Settings

log = logging.getLogger(__name__)


def purge_consumed_messages(broker_url: str) -> int:
    """kombu's SQLAlchemy transport never deletes consumed messages; delete them."""
    if not broker_url.startswith("sqla+"):
        return 0
    engine = create_engine(broker_url.removeprefix("sqla+"))
    try:
        if not inspect(engine).has_table("kombu_message"):
            return 0
        with engine.begin() as connection:
            return connection.execute(text("DELETE FROM kombu_message WHERE visible = false")).rowcount
    finally:
        engine.dispose()


def run_maintenance(settings: Settings, celery: Celery) -> ReapReport:
    """Reap once, then send the jobs it re-queued (after its commit)."""
    with session_scope(settings.database_url) as session:
        report = reap(session, settings)
    for job_id in report.to_send():
        with session_scope(settings.database_url) as session:
            send(celery, settings, session.get(Job, job_id))
    if report.to_send() or report.failed or report.cancelled:
        log.warning("reaper: %s", report)
    purge_consumed_messages(settings.broker_url)
    return report


def maintenance_loop(settings: Settings, celery: Celery) -> Ticker:
    """A thread that runs `run_maintenance` at once and every `reaper_interval_s`."""
    return Ticker(settings.reaper_interval_s, lambda: run_maintenance(settings, celery),
                  "certbound-maintenance", immediately=True)
