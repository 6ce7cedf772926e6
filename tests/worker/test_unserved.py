"""The reaper on real databases: a job on a queue no worker consumes (a device "cuda" job
without a GPU worker) is failed with the reason after the bounded wait, and only then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db.models import Job, JobEvent, WorkerBeat, utcnow
from app.db.session import session_scope
from app.services.reaper import reap
from tests.service.support import BACKENDS, backend_settings, instance, make_job
from worker.heartbeat import worker_heartbeat

WAIT_S = 60.0


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path):
    with backend_settings(request, tmp_path, unserved_queue_fail_s=WAIT_S) as settings:
        yield settings


def worker_seen(settings, name: str, queues: str, seconds_ago: float = 0.0) -> None:
    """The row a worker's heartbeat writes, last seen `seconds_ago`."""
    worker_heartbeat(settings.database_url, name, queues, 1.0).tick()
    with session_scope(settings.database_url) as session:
        session.get(WorkerBeat, name).last_seen = utcnow() - timedelta(seconds=seconds_ago)


def gpu_job(settings, benchmarks, device: str) -> str:
    """A job with `device` queued on gpu twice the wait ago, while a GPU worker was live
    (without one, cuda is refused and auto goes to cpu); that worker was last seen then too."""
    model, prop = instance(benchmarks, "mlp", "relu5", "relu5_sat")
    worker_seen(settings, "submit-time-gpu@test", "gpu,cpu")
    job_id = make_job(settings, model, prop, config={"device": device})
    long_ago = utcnow() - timedelta(seconds=2 * WAIT_S)
    with session_scope(settings.database_url) as session:
        assert session.get(Job, job_id).queue == "gpu"
        session.execute(update(Job).where(Job.id == job_id).values(created_at=long_ago, enqueued_at=long_ago))
        session.execute(update(JobEvent).where(JobEvent.job_id == job_id).values(at=long_ago))
        session.get(WorkerBeat, "submit-time-gpu@test").last_seen = long_ago
    return job_id


@pytest.fixture
def cuda_job(settings, bundled_benchmarks):
    return gpu_job(settings, bundled_benchmarks, "cuda")


def reap_once(settings):
    with session_scope(settings.database_url) as session:
        return reap(session, settings)


def job(settings, job_id) -> Job:
    with session_scope(settings.database_url) as session:
        row = session.get(Job, job_id)
        session.expunge(row)
        return row


def test_a_cuda_job_without_a_gpu_worker_fails_with_the_reason(settings, cuda_job):
    worker_seen(settings, "cpu-only@test", "cpu")
    worker_seen(settings, "gone-gpu@test", "gpu,cpu", seconds_ago=WAIT_S + 5)
    assert cuda_job in reap_once(settings).failed
    failed = job(settings, cuda_job)
    assert (failed.status, failed.verdict) == ("failed", "error")
    assert "queue 'gpu'" in failed.error and "none with a GPU has been seen for 60 s" in failed.error
    with session_scope(settings.database_url) as session:
        last = session.query(JobEvent).filter_by(job_id=cuda_job).order_by(JobEvent.id.desc()).first()
        assert (last.data["status"], last.data["action"]) == ("failed", "unserved")


def test_a_cuda_job_stays_queued_while_a_gpu_worker_is_live(settings, cuda_job):
    worker_seen(settings, "gpu@test", "gpu,cpu")
    assert cuda_job not in reap_once(settings).failed
    assert job(settings, cuda_job).status == "queued"


def test_a_restarting_gpu_worker_still_counts(settings, cuda_job):
    # Not live for /healthz (seen 20 s ago) but within the wait: it may be restarting.
    worker_seen(settings, "gpu@test", "gpu", seconds_ago=20)
    assert cuda_job not in reap_once(settings).failed
    assert job(settings, cuda_job).status == "queued"


def test_the_wait_counts_from_the_last_requeue(settings, cuda_job):
    with session_scope(settings.database_url) as session:
        session.add(JobEvent(job_id=cuda_job, at=utcnow() - timedelta(seconds=10), type="status",
                             data={"status": "queued", "action": "requeued"}))
    assert cuda_job not in reap_once(settings).failed
    assert job(settings, cuda_job).status == "queued"


def test_an_auto_job_moves_to_cpu_when_the_gpu_workers_are_gone(settings, bundled_benchmarks):
    auto_job = gpu_job(settings, bundled_benchmarks, "auto")
    worker_seen(settings, "cpu-only@test", "cpu")
    report = reap_once(settings)
    assert auto_job not in report.failed and auto_job in report.to_send()
    moved = job(settings, auto_job)
    assert (moved.status, moved.queue) == ("queued", "cpu")
    with session_scope(settings.database_url) as session:
        last = session.query(JobEvent).filter_by(job_id=auto_job).order_by(JobEvent.id.desc()).first()
        assert (last.data["queue"], last.data["action"]) == ("cpu", "rerouted")
    assert auto_job not in reap_once(settings).failed  # on cpu, a live cpu worker serves it
