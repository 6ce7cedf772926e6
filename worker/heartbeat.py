"""Signs of life written to the database: per running job, and per worker process."""

from __future__ import annotations

import threading
import time
from typing import Callable

from sqlalchemy.dialects import postgresql, sqlite

from app.db.models import WorkerBeat, utcnow
from app.db.session import session_scope
from app.periodic import Ticker
from app.services.job_state import beat


def job_heartbeat(database_url: str, job_id: str, attempt: int, interval: float, stop_requested: threading.Event,
                  *, stop_grace_s: float, interrupt: Callable[[], None]) -> Ticker:
    """Keeps a running job's heartbeat fresh even while the engine is busy elsewhere;
    sets `stop_requested` on a cancel request or when the reaper took the job away, and
    calls `interrupt` once if the engine has not stopped `stop_grace_s` later (it only
    hears the request when it next reports progress)."""
    asked_at: list[float] = []

    def tick() -> None:
        with session_scope(database_url) as session:
            cancelled = beat(session, job_id, attempt)
        if cancelled is None or cancelled:
            stop_requested.set()
        if stop_requested.is_set():
            if not asked_at:
                asked_at.append(time.monotonic())
            elif len(asked_at) == 1 and time.monotonic() - asked_at[0] >= stop_grace_s:
                asked_at.append(time.monotonic())
                interrupt()

    return Ticker(interval, tick, f"heartbeat-{job_id}")


def worker_heartbeat(database_url: str, name: str, queues: str, interval: float) -> Ticker:
    """Upserts this worker's row, so /healthz can list live workers on any broker."""

    def tick() -> None:
        now = utcnow()
        with session_scope(database_url) as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            statement = dialect.insert(WorkerBeat).values(name=name, queues=queues, started_at=now, last_seen=now)
            session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"last_seen": now, "queues": queues}))

    return Ticker(interval, tick, "worker-heartbeat")
