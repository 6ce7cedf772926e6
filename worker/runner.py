"""One job attempt from claim to outcome: heartbeats, progress, cancellation, artifacts.

The job kinds (worker.kinds) only compute; everything about the job row lives here.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import asdict
from typing import Any, Callable

from billiard.pool import soft_timeout_sighandler
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import update

from app.db.models import Artifact, Job, Model, Property, utcnow
from app.db.session import session_scope
from app.services.job_state import beat, cancel_asked, claim, finish, record_event
from app.services.uploads import register_model
from app.settings import Settings
from app.storage import ArtifactStore
from core.device import DeviceUnavailable
from core.result import Progress
from worker.heartbeat import job_heartbeat
from worker.kinds import KINDS
from worker.outcome import Outcome

log = logging.getLogger(__name__)
DEFINITIVE = ("sat", "unsat")


class JobContext:
    """What a job kind gets: its row's inputs, their bytes, and the progress callback."""

    def __init__(self, settings: Settings, job: Job, attempt: int, stop_requested: threading.Event):
        self.settings, self.job, self.attempt = settings, job, attempt
        self.store = ArtifactStore(settings.artifacts_dir)
        self.stop_requested = stop_requested
        self._last_event = self._last_check = 0.0
        self._last_phase: str | None = None

    def model_bytes(self, model_id: str | None = None) -> bytes:
        """The job's model, or the model `model_id` (a faithfulness job's student)."""
        with session_scope(self.settings.database_url) as session:
            return self.store.read(session.get(Model, model_id or self.job.model_id).sha256)

    def property_bytes(self) -> bytes:
        with session_scope(self.settings.database_url) as session:
            return self.store.read(session.get(Property, self.job.property_id).sha256)

    def progress(self, report: Progress) -> bool:
        """The engine's ProgressCallback: see `report`."""
        return self.report(asdict(report))

    def report(self, data: dict[str, Any], milestone: bool = False) -> bool:
        """Record a progress report (throttled: phase changes, milestones such as the end of
        an epoch, and one a second) and answer whether to stop, reading the cancel flag from
        the database at most every poll interval."""
        now = time.monotonic()
        phase = data.get("phase")
        publish = (milestone or phase != self._last_phase
                   or now - self._last_event >= self.settings.progress_event_interval_s)
        if publish or now - self._last_check >= self.settings.cancel_poll_interval_s:
            with session_scope(self.settings.database_url) as session:
                cancelled = beat(session, self.job.id, self.attempt, data if publish else None)
                if publish and cancelled is not None:
                    record_event(session, self.job.id, "progress", data)
            if cancelled is None or cancelled:
                self.stop_requested.set()
            self._last_check = now
            if publish:
                self._last_event, self._last_phase = now, phase
        return self.stop_requested.is_set()

    def register_model(self, data: bytes, filename: str) -> str:
        """Store ONNX bytes this job made as a model of the job's owner; returns its id."""
        with session_scope(self.settings.database_url) as session:
            return register_model(session, self.store, self.job.owner_id, filename, data).id


def _outcome_of(kind_result: Outcome, stop_requested: threading.Event,
                cancel_requested: Callable[[], bool]) -> Outcome:
    """A cancel turns an inconclusive result into `cancelled`: one the heartbeat saw
    (`stop_requested`), or one asked for before the kind returned unseen by it
    (`cancel_requested()`, read only then). A distributed parent ends as soon as its
    cancelled parts do, which can come before its own heartbeat reads the flag."""
    if kind_result.verdict in DEFINITIVE or kind_result.status != "succeeded":
        return kind_result
    if stop_requested.is_set() or cancel_requested():
        return Outcome(verdict=None, result=kind_result.result, status="cancelled")
    return kind_result


def _cancel_asked(settings: Settings, job_id: str) -> bool:
    with session_scope(settings.database_url) as session:
        return cancel_asked(session, job_id)


def interrupt_pool_process() -> None:
    """Raise SoftTimeLimitExceeded in the engine's thread the way Celery's prefork pool
    does (SIGUSR1), where that handler is installed; elsewhere, leave the engine be."""
    if signal.getsignal(signal.SIGUSR1) is soft_timeout_sighandler:
        os.kill(os.getpid(), signal.SIGUSR1)


def run_attempt(settings: Settings, job_id: str, worker_name: str) -> str | None:
    """Claim and run one job; returns its final status, or None when the message was stale."""
    with session_scope(settings.database_url) as session:
        attempt = claim(session, job_id, worker_name)
        job = session.get(Job, job_id) if attempt is not None else None
    if job is None:
        log.info("job %s is not queued any more; message ignored", job_id)
        return None
    stop_requested = threading.Event()
    context = JobContext(settings, job, attempt, stop_requested)
    ticker = job_heartbeat(settings.database_url, job_id, attempt, settings.heartbeat_interval_s, stop_requested,
                           stop_grace_s=settings.cancel_grace_s, interrupt=interrupt_pool_process)
    ticker.start()
    try:
        try:
            outcome = _outcome_of(KINDS[job.kind](context), stop_requested, lambda: _cancel_asked(settings, job_id))
        finally:
            # Inside the outer try: an interrupt that lands while the ticker stops is still caught.
            ticker.stop()
    except SoftTimeLimitExceeded:
        if stop_requested.is_set():
            outcome = Outcome(verdict=None, status="cancelled",
                              error=f"the engine ignored the cancel request for {settings.cancel_grace_s:g} s and was interrupted")
        else:
            outcome = Outcome(verdict="timeout", error=f"stopped by the soft time limit, {job.timeout_s:g} s "
                                                       f"timeout plus {settings.soft_limit_grace_s:g} s grace")
    except DeviceUnavailable as exc:  # the job asks for a device this worker lacks: the reason, no traceback
        outcome = Outcome(verdict="error", status="failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure of the inputs or engine is the job's outcome
        log.exception("job %s failed", job_id)
        outcome = Outcome(verdict="error", status="failed", error=f"{type(exc).__name__}: {exc}")
    return record_outcome(settings, context, outcome)


def record_outcome(settings: Settings, context: JobContext, outcome: Outcome) -> str | None:
    store, job = context.store, context.job
    with session_scope(settings.database_url) as session:
        for kind, data in outcome.artifacts.items():
            session.add(Artifact(job_id=job.id, kind=kind, sha256=store.put_bytes(data), size_bytes=len(data)))
        if not finish(session, job.id, context.attempt, status=outcome.status, verdict=outcome.verdict,
                      error=outcome.error, result=outcome.result):
            session.rollback()
            log.warning("job %s was taken over while attempt %s ran; its outcome is dropped", job.id, context.attempt)
            return None
    return outcome.status


def fail_after_hard_limit(settings: Settings, job_id: str, limit_s: float) -> None:
    """Called in the worker's main process when the pool killed a job at its hard limit."""
    with session_scope(settings.database_url) as session:
        error = f"killed at the hard time limit ({limit_s:g} s): the engine did not stop at its timeout"
        done = session.execute(
            update(Job).where(Job.id == job_id, Job.status == "running")
            .values(status="failed", verdict="timeout", error=error, finished_at=utcnow())
        ).rowcount
        if done:
            record_event(session, job_id, "status", {"status": "failed", "verdict": "timeout", "error": error})
