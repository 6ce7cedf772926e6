"""Two owners never see each other's objects: every foreign id answers 404."""

from __future__ import annotations


def test_foreign_objects_answer_404(api, other_api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "tiny_unsat.vnnlib.gz")
    job_id = api.submit(model, prop)

    for path in (f"/models/{model['id']}", f"/properties/{prop['id']}", f"/jobs/{job_id}",
                 f"/jobs/{job_id}/events", f"/jobs/{job_id}/certificate"):
        response = other_api.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["detail"]
    assert other_api.post(f"/jobs/{job_id}/cancel").status_code == 404
    assert other_api.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"]}).status_code == 404
    assert other_api.get("/jobs").json()["items"] == []
    assert other_api.get("/models").json()["items"] == [] and other_api.get("/properties").json()["items"] == []


def test_same_upload_by_two_owners_gives_two_objects(api, other_api, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz"
    mine, theirs = api.upload_ok("models", path), other_api.upload_ok("models", path)
    assert mine["id"] != theirs["id"] and mine["sha256"] == theirs["sha256"]


def test_requests_without_a_valid_token_are_401(client):
    assert client.get("/api/v1/jobs").status_code == 401
    response = client.get("/api/v1/models", headers={"Authorization": "Bearer cb_not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
