"""A worker that owns a GPU runs `device: cuda` jobs from the gpu queue (needs CUDA)."""

from __future__ import annotations

import pytest

from tests.service.support import Api, WorkerProcess, client_for, instance, new_token, sqlite_settings


@pytest.mark.gpu
def test_gpu_worker_runs_a_cuda_job(tmp_path, bundled_benchmarks):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    settings = sqlite_settings(tmp_path)
    worker = WorkerProcess(settings, tmp_path / "gpu-worker.log", "--gpu", "0", "--queues", "gpu").start()
    try:
        with client_for(settings) as client:
            api = Api(client, new_token(settings))
            model_path, prop_path = instance(bundled_benchmarks, "mlp", "relu5", "relu5_unsat")
            job_id = api.submit(api.upload_ok("models", model_path), api.upload_ok("properties", prop_path),
                                timeout_s=60, config={"device": "cuda"})
            job = api.wait(job_id)
    finally:
        worker.stop()
    assert job["queue"] == "gpu" and job["worker"].startswith(worker.name)
    assert (job["status"], job["verdict"]) == ("succeeded", "unsat"), job
