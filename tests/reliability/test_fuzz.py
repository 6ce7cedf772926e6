"""Fuzz slice: schemathesis over the OpenAPI of the app in process, with a bearer token and
with existing ids pinned: no 5xx, every response documented (status, type, body shape)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from benchmarks.reliability.common import QUICK
from benchmarks.reliability.figures import violations
from benchmarks.reliability.fuzz import run_fuzz
from tests.service.support import new_token, sqlite_settings


@pytest.mark.slow
def test_fuzz_in_process_app(tmp_path):
    settings = sqlite_settings(tmp_path / "data")
    token = new_token(settings)
    app = create_app(settings, maintenance=False)
    model, prop, _ = QUICK[0]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        model_id = client.post("/api/v1/models", files={"file": (model.name, model.read_bytes())}).json()["id"]
        property_id = client.post("/api/v1/properties", files={"file": (prop.name, prop.read_bytes())}).json()["id"]
        job = client.post("/api/v1/jobs", json={"model_id": model_id, "property_id": property_id})
        assert job.status_code == 202, job.text
        # No worker runs here: cancelled, the job is finished, so that its event stream (should
        # a generated Accept header ask for one; the in-process transport has no timeout) ends.
        assert client.post(f"/api/v1/jobs/{job.json()['id']}/cancel").status_code == 202
    known = {"model": model_id, "property": property_id, "job": job.json()["id"]}
    result = run_fuzz(token, app=app, max_examples=6, known_ids=known)
    assert result["requests"] > 150, result
    assert violations("fuzz", result) == [], {key: result[key] for key in ("failures", "examples")}

