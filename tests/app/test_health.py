"""/healthz and /metrics."""

from __future__ import annotations

from app.db.models import WorkerBeat, utcnow
from app.db.session import session_scope


def test_healthz_needs_no_token_and_reports_each_part(client, api_settings):
    response = client.get("/api/v1/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    with session_scope(api_settings.database_url) as session:
        session.merge(WorkerBeat(name="probe@test", queues="cpu", started_at=utcnow(), last_seen=utcnow()))
    body = client.get("/api/v1/healthz").json()
    assert {"name": "probe@test", "queues": ["cpu"]} in body["workers"]
    assert body["status"] == "ok"


def test_healthz_is_503_when_the_broker_is_unreachable(api_settings):
    from tests.service.support import client_for

    broken = api_settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with client_for(broken) as client:
        response = client.get("/api/v1/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error") and response.json()["status"] == "down"


def test_metrics_count_jobs_in_prometheus_text(api, client, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    before = client.get("/api/v1/metrics").text
    api.post("/jobs", json={"kind": "inspect", "model_id": model["id"]})
    text = client.get("/api/v1/metrics").text
    assert "# TYPE certbound_jobs gauge" in text
    line = 'certbound_jobs{kind="inspect",status="queued",verdict=""}'

    def count(body: str) -> int:
        return next((int(l.split()[-1]) for l in body.splitlines() if l.startswith(line)), 0)

    assert count(text) == count(before) + 1
    assert "certbound_models " in text and "certbound_workers_live " in text
