"""The reaper on real databases: silent workers' jobs are re-queued once, then failed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.db.models import Job, JobEvent, utcnow
from app.db.session import session_scope
from app.main import create_app
from app.services.job_state import beat, claim
from app.services.reaper import reap
from tests.service.support import BACKENDS, backend_settings, make_job


@pytest.fixture(scope="module", params=BACKENDS)
def settings(request, tmp_path_factory):
    with backend_settings(request, tmp_path_factory.mktemp("reaper")) as settings:
        yield settings


@pytest.fixture
def running_job(settings, bundled_benchmarks):
    job_id = make_job(settings, bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz", kind="inspect")
    with session_scope(settings.database_url) as session:
        claim(session, job_id, "w@test")
    return job_id


def go_silent(settings, job_id, seconds=60):
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).heartbeat_at = utcnow() - timedelta(seconds=seconds)


def state(settings, job_id):
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        reasons = [e.data.get("reason") for e in session.query(JobEvent).filter_by(job_id=job_id) if e.data.get("reason")]
        return job, reasons


def test_a_silent_job_is_requeued_once_then_failed_with_the_reason(settings, running_job):
    go_silent(settings, running_job)
    with session_scope(settings.database_url) as session:
        report = reap(session, settings)
    assert running_job in report.requeued and running_job in report.to_send()
    job, reasons = state(settings, running_job)
    assert (job.status, job.attempts, job.worker) == ("queued", 1, None)
    assert "stopped sending heartbeats" in reasons[0]

    with session_scope(settings.database_url) as session:
        assert claim(session, running_job, "w2@test") == 2
    go_silent(settings, running_job)
    with session_scope(settings.database_url) as session:
        assert running_job in reap(session, settings).failed
    job, _ = state(settings, running_job)
    assert (job.status, job.verdict) == ("failed", "error")
    assert "w2@test" in job.error and "gave up after 2 attempts" in job.error


def test_a_live_job_is_left_alone(settings, running_job):
    go_silent(settings, running_job, seconds=1)
    with session_scope(settings.database_url) as session:
        report = reap(session, settings)
    assert running_job not in report.requeued + report.failed + report.cancelled
    assert state(settings, running_job)[0].status == "running"


def test_a_silent_job_asked_to_cancel_is_cancelled(settings, running_job):
    with session_scope(settings.database_url) as session:
        session.get(Job, running_job).cancel_requested = True
    go_silent(settings, running_job)
    with session_scope(settings.database_url) as session:
        assert running_job in reap(session, settings).cancelled
    assert state(settings, running_job)[0].status == "cancelled"


def test_a_long_queued_job_is_sent_again(settings, bundled_benchmarks):
    job_id = make_job(settings, bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz", kind="inspect")
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).enqueued_at = utcnow() - timedelta(seconds=settings.queued_resend_s + 1)
    with session_scope(settings.database_url) as session:
        assert job_id in reap(session, settings).resent
    with session_scope(settings.database_url) as session:
        assert job_id not in reap(session, settings).resent  # its clock was reset


def test_the_api_reaps_when_it_starts(settings, running_job):
    go_silent(settings, running_job)
    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 10
        while state(settings, running_job)[0].status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
    job = state(settings, running_job)[0]
    assert (job.status, job.attempts) == ("queued", 1)


def test_a_requeued_job_forgets_the_dead_attempt_and_its_event_keeps_it(settings, running_job):
    with session_scope(settings.database_url) as session:
        assert beat(session, running_job, 1, {"phase": "bab", "domains_visited": 42}) is False
        started = session.get(Job, running_job).started_at
    go_silent(settings, running_job)
    with session_scope(settings.database_url) as session:
        assert running_job in reap(session, settings).requeued
    job, _ = state(settings, running_job)
    assert (job.status, job.started_at, job.progress, job.heartbeat_at, job.worker) == ("queued", None, None, None, None)
    with session_scope(settings.database_url) as session:
        events = session.query(JobEvent).filter_by(job_id=running_job, type="status").order_by(JobEvent.id).all()
        previous = events[-1].data["previous_attempt"]
    assert previous["attempt"] == 1 and previous["worker"] == "w@test"
    assert previous["started_at"] == started.isoformat() + "Z"
    assert previous["progress"] == {"phase": "bab", "domains_visited": 42}
