"""Which queue a new job goes to, decided by the live workers' heartbeat rows in a real
database: the rows are written by the workers' own heartbeat code (a GPU worker's row
is the one such a worker writes; this machine has no GPU to run one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db.models import WorkerBeat, utcnow
from app.db.session import session_scope
from tests.service.support import BACKENDS, Api, backend_settings, client_for, instance, new_token
from worker.heartbeat import worker_heartbeat


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path):
    # A row counts as live for 3 heartbeat intervals and a second: 31 s here, longer than a test.
    with backend_settings(request, tmp_path, heartbeat_interval_s=10.0) as settings:
        yield settings


@pytest.fixture
def api(settings):
    with client_for(settings) as client:
        yield Api(client, new_token(settings))


@pytest.fixture
def inputs(api, bundled_benchmarks):
    model, prop = instance(bundled_benchmarks, "mlp", "relu5", "relu5_sat")
    return api.upload_ok("models", model), api.upload_ok("properties", prop)


def worker_row(settings, name: str, queues: str, seconds_ago: float = 0.0) -> None:
    """The heartbeat row of a worker consuming `queues`, last seen `seconds_ago`."""
    worker_heartbeat(settings.database_url, name, queues, settings.heartbeat_interval_s).tick()
    with session_scope(settings.database_url) as session:
        session.get(WorkerBeat, name).last_seen = utcnow() - timedelta(seconds=seconds_ago)


def queue_of(api: Api, inputs, **body) -> str:
    job_id = api.submit(*inputs, **body)
    return api.get(f"/jobs/{job_id}").json()["queue"]


def test_without_a_gpu_worker_cuda_is_422_and_nothing_is_queued(api, inputs, settings):
    worker_row(settings, "cpu@test", "cpu")
    for body in ({"model_id": inputs[0]["id"], "property_id": inputs[1]["id"], "config": {"device": "cuda"}},
                 {"kind": "train", "config": {"arch": "mlp", "device": "cuda"}}):
        response = api.post("/jobs", json=body)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith("config.device 'cuda': no live worker has a GPU") and "\n" not in detail
    assert api.get("/jobs").json()["items"] == []


def test_without_a_gpu_worker_auto_and_cpu_go_to_cpu(api, inputs, settings):
    worker_row(settings, "cpu@test", "cpu")
    assert queue_of(api, inputs) == "cpu"
    assert queue_of(api, inputs, config={"device": "auto"}) == "cpu"
    assert queue_of(api, inputs, config={"device": "cpu"}) == "cpu"


def test_with_a_live_gpu_worker_cuda_and_auto_go_to_gpu(api, inputs, settings):
    worker_row(settings, "cpu@test", "cpu")
    worker_row(settings, "gpu0@test", "gpu,cpu")
    assert queue_of(api, inputs, config={"device": "cuda"}) == "gpu"
    assert queue_of(api, inputs) == "gpu"
    assert queue_of(api, inputs, config={"device": "cpu"}) == "cpu"
    response = api.post("/jobs", json={"kind": "inspect", "model_id": inputs[0]["id"]})
    assert api.get(f"/jobs/{response.json()['id']}").json()["queue"] == "cpu"  # it only reads the model
    response = api.post("/jobs", json={"kind": "train", "config": {"arch": "mlp"}})
    assert api.get(f"/jobs/{response.json()['id']}").json()["queue"] == "gpu"


def test_a_gpu_worker_that_stopped_beating_is_not_live(api, inputs, settings):
    # Older than /healthz's window (3 heartbeat intervals and a second): not listed as live there either.
    worker_row(settings, "gpu0@test", "gpu,cpu", seconds_ago=3 * settings.heartbeat_interval_s + 5)
    assert api.post("/jobs", json={"model_id": inputs[0]["id"], "property_id": inputs[1]["id"],
                                   "config": {"device": "cuda"}}).status_code == 422
    assert queue_of(api, inputs) == "cpu"
    assert all("gpu" not in worker["queues"] for worker in api.get("/healthz").json()["workers"])
