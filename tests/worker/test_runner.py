"""The job runner in this process, on a real SQLite database: claim, outcome, limits."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from billiard.pool import soft_timeout_sighandler
from celery.exceptions import TimeLimitExceeded

from app.db.models import Job, Token
from app.db.session import session_scope
from app.services.evidence import evidence_file
from app.settings import get_settings
from app.storage import ArtifactStore
from tests.service.support import UNDECIDABLE, make_job, sqlite_settings
from worker.outcome import Outcome
from worker.runner import _cancel_asked, _outcome_of, fail_after_hard_limit, run_attempt
from worker.tasks import run_job


@pytest.fixture
def settings(tmp_path):
    return sqlite_settings(tmp_path)


def read(settings, job_id) -> Job:
    with session_scope(settings.database_url) as session:
        return session.get(Job, job_id)


def attempt_in_pool_process(settings, job_id, delay: float, action, *args) -> str | None:
    """Run an attempt here with the SIGUSR1 handler Celery's pool processes have, doing
    `action(*args)` after `delay` seconds."""
    previous = signal.signal(signal.SIGUSR1, soft_timeout_sighandler)
    timer = threading.Timer(delay, action, args)
    try:
        timer.start()
        return run_attempt(settings, job_id, "w@test")
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)


def test_a_message_for_a_job_that_is_not_queued_is_ignored(settings, bundled_benchmarks):
    job_id = make_job(settings, bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz", kind="inspect")
    assert run_attempt(settings, job_id, "w1@test") == "succeeded"
    assert run_attempt(settings, job_id, "w2@test") is None  # a duplicate delivery
    job = read(settings, job_id)
    assert (job.status, job.attempts, job.worker) == ("succeeded", 1, "w1@test")


def test_config_the_engine_rejects_fails_the_job_with_the_reason(settings, bundled_benchmarks):
    bench = bundled_benchmarks / "mlp"
    job_id = make_job(settings, bench / "onnx" / "tiny.onnx.gz", bench / "vnnlib" / "tiny_unsat.vnnlib.gz")
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).config = {"renamed_option": 1}  # queued before an engine upgrade
    assert run_attempt(settings, job_id, "w@test") == "failed"
    job = read(settings, job_id)
    assert job.verdict == "error" and "renamed_option" in job.error


def test_an_unsat_whose_check_has_no_time_left_is_unknown_with_its_certificate_kept(tmp_path, bundled_benchmarks):
    settings = sqlite_settings(tmp_path, check_time_factor=0.0)  # the check stops at once
    bench = bundled_benchmarks / "mlp"
    job_id = make_job(settings, bench / "onnx" / "tiny.onnx.gz", bench / "vnnlib" / "tiny_unsat.vnnlib.gz")
    assert run_attempt(settings, job_id, "w@test") == "succeeded"
    job = read(settings, job_id)
    assert job.verdict == "unknown" and "did not finish" in job.result["message"]
    assert job.result["check"]["stopped"] is True
    with session_scope(settings.database_url) as session:
        owner = session.get(Token, job.owner_id)
        served = evidence_file(session, ArtifactStore(settings.artifacts_dir), owner, job_id)
    assert served.kind == "certificate" and served.data[:2] == b"PK"  # the zip, kept to check offline


def test_soft_time_limit_signal_yields_verdict_timeout(settings, bundled_benchmarks):
    # Celery's prefork pool delivers the soft limit as SIGUSR1 to the pool process,
    # whose handler raises SoftTimeLimitExceeded; do exactly that here.
    bench = bundled_benchmarks / UNDECIDABLE[0]
    job_id = make_job(settings, bench / "onnx" / f"{UNDECIDABLE[1]}.onnx.gz",
                      bench / "vnnlib" / f"{UNDECIDABLE[2]}.vnnlib.gz", timeout_s=600)
    assert attempt_in_pool_process(settings, job_id, 1.0, os.kill, os.getpid(), signal.SIGUSR1) == "succeeded"
    job = read(settings, job_id)
    assert job.verdict == "timeout" and "soft time limit" in job.error


def test_hard_time_limit_is_recorded_by_the_main_process(settings, bundled_benchmarks):
    job_id = make_job(settings, bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz", kind="inspect")
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).status = "running"  # as if a pool process had claimed it, then died
    os.environ["CERTBOUND_DATA_DIR"] = str(settings.data_dir)
    get_settings.cache_clear()
    try:
        run_job.on_failure(TimeLimitExceeded(75.0), "task-id", (job_id,), {}, None)
    finally:
        del os.environ["CERTBOUND_DATA_DIR"]
        get_settings.cache_clear()
    job = read(settings, job_id)
    assert (job.status, job.verdict) == ("failed", "timeout") and "75 s" in job.error
    fail_after_hard_limit(settings, job_id, 75.0)  # idempotent: a finished job stays as it is
    assert read(settings, job_id).finished_at == job.finished_at


def test_an_engine_that_ignores_a_cancel_is_interrupted(tmp_path, bundled_benchmarks):
    settings = sqlite_settings(tmp_path, cancel_grace_s=1.0, heartbeat_interval_s=0.2)
    bench = bundled_benchmarks / UNDECIDABLE[0]
    job_id = make_job(settings, bench / "onnx" / f"{UNDECIDABLE[1]}.onnx.gz",
                      bench / "vnnlib" / f"{UNDECIDABLE[2]}.vnnlib.gz", timeout_s=600)

    def cancel() -> None:
        with session_scope(settings.database_url) as session:
            session.get(Job, job_id).cancel_requested = True

    assert attempt_in_pool_process(settings, job_id, 0.5, cancel) == "cancelled"
    assert read(settings, job_id).status == "cancelled"


def test_a_cancel_the_heartbeat_never_saw_still_makes_an_inconclusive_end_cancelled(settings, bundled_benchmarks):
    """A distributed parent ends when its cancelled parts do, which can come before its
    heartbeat reads the flag: the runner reads it itself before recording an inconclusive end."""
    bench = bundled_benchmarks / UNDECIDABLE[0]
    job_id = make_job(settings, bench / "onnx" / f"{UNDECIDABLE[1]}.onnx.gz",
                      bench / "vnnlib" / f"{UNDECIDABLE[2]}.vnnlib.gz", timeout_s=60)
    unseen = threading.Event()  # the heartbeat's flag, never set
    asked = lambda: _cancel_asked(settings, job_id)  # noqa: E731
    undecided = Outcome(verdict="unknown", result={"message": "sub-job x was cancelled"})
    assert _outcome_of(undecided, unseen, asked).status == "succeeded"
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).cancel_requested = True
    ended = _outcome_of(undecided, unseen, asked)
    assert (ended.status, ended.verdict, ended.result) == ("cancelled", None, undecided.result)
    proof = Outcome(verdict="unsat")  # a verdict found before the cancel stands
    assert _outcome_of(proof, unseen, asked) is proof
