"""A job that asks for a device this worker lacks fails with one line saying so."""

from __future__ import annotations

import pytest

from app.db.models import Job
from app.db.session import session_scope
from tests.service.support import make_job, sqlite_settings
from worker.runner import run_attempt


def test_a_cuda_job_on_a_worker_without_cuda_fails_with_the_reason_on_one_line(tmp_path, bundled_benchmarks):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the job would run")
    settings = sqlite_settings(tmp_path)
    bench = bundled_benchmarks / "mlp"
    job_id = make_job(settings, bench / "onnx" / "tiny.onnx.gz", bench / "vnnlib" / "tiny_unsat.vnnlib.gz")
    with session_scope(settings.database_url) as session:
        session.get(Job, job_id).config = {"device": "cuda"}  # as if routed to a worker that lost its GPU
    assert run_attempt(settings, job_id, "w@test") == "failed"
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job.verdict == "error"
        assert job.error.startswith("device 'cuda' is not available: ") and "without CUDA" in job.error
        assert "\n" not in job.error and "Traceback" not in job.error
