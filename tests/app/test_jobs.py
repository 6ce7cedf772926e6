"""The /jobs API without a worker: validation, reading, listing, cancelling queued jobs."""

from __future__ import annotations

import pytest

from tests.app.pages import every_id


@pytest.fixture
def acas(api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz")
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "relu5_unsat.vnnlib.gz")
    return model, prop


def test_submit_is_202_queued_and_readable(api, acas):
    model, prop = acas
    response = api.post("/jobs", json={"kind": "verify", "model_id": model["id"], "property_id": prop["id"],
                                       "timeout_s": 30, "config": {"seed": 3}})
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    job = api.get(f"/jobs/{response.json()['id']}").json()
    assert (job["kind"], job["status"], job["verdict"], job["attempts"]) == ("verify", "queued", None, 0)
    assert job["timeout_s"] == 30 and job["config"] == {"seed": 3}
    assert set(job["progress"]) == {"phase", "domains_visited", "domains_open", "lower_bound", "elapsed_s"}
    assert job["created_at"].endswith("Z") and job["started_at"] is None


def test_size_mismatch_is_422(api, bundled_benchmarks, acas):
    model, _ = acas
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "tiny_unsat.vnnlib.gz")
    response = api.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"]})
    assert response.status_code == 422
    assert "inputs" in response.json()["detail"]


@pytest.mark.parametrize("body, words", [
    ({"config": {"no_such_option": 1}}, "no_such_option"),
    ({"config": {"timeout_s": 5}}, "top level"),
    ({"timeout_s": -1}, "timeout_s"),
    ({"timeout_s": 10**9}, "limit"),
    ({"kind": "fly"}, "kind"),
    ({"surprise": True}, "surprise"),
])
def test_bad_job_requests_are_422(api, acas, body, words):
    model, prop = acas
    response = api.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"], **body})
    assert response.status_code == 422
    assert words in response.text


def test_verify_needs_a_property_and_inspect_takes_none(api, acas):
    model, prop = acas
    assert "property_id" in api.post("/jobs", json={"model_id": model["id"]}).json()["detail"]
    response = api.post("/jobs", json={"kind": "inspect", "model_id": model["id"], "property_id": prop["id"]})
    assert response.status_code == 422
    response = api.post("/jobs", json={"kind": "inspect", "model_id": model["id"], "config": {"seed": 1}})
    assert response.status_code == 422 and "config" in response.json()["detail"]
    assert api.post("/jobs", json={"kind": "inspect", "model_id": model["id"]}).status_code == 202


def test_unknown_model_is_404(api, acas):
    _, prop = acas
    response = api.post("/jobs", json={"model_id": "f" * 32, "property_id": prop["id"]})
    assert response.status_code == 404


def test_cancel_a_queued_job(api, acas):
    job_id = api.submit(*acas)
    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 202
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["finished_at"] is not None
    assert api.post(f"/jobs/{job_id}/cancel").status_code == 409
    assert [e["data"]["status"] for e in api.get(f"/jobs/{job_id}/events").json()] == ["queued", "cancelled"]


def test_certificate_is_409_without_a_verdict(api, acas):
    job_id = api.submit(*acas)
    assert api.get(f"/jobs/{job_id}/certificate").status_code == 409


def test_list_is_newest_first_filtered_and_paginated(api, acas):
    ids = [api.submit(*acas) for _ in range(5)]
    api.post(f"/jobs/{ids[0]}/cancel")
    assert every_id(api, "/jobs", 2) == ids[::-1]
    cancelled = api.get("/jobs", params={"status": "cancelled"}).json()["items"]
    assert [job["id"] for job in cancelled] == [ids[0]]
    assert api.get("/jobs", params={"kind": "inspect"}).json()["items"] == []
    assert api.get("/jobs", params={"status": "sleeping"}).status_code == 422
    assert api.get("/jobs", params={"cursor": "bm9wZQ"}).status_code == 422


def test_events_as_server_sent_events(api, acas):
    job_id = api.submit(*acas)
    api.post(f"/jobs/{job_id}/cancel")
    response = api.get(f"/jobs/{job_id}/events", headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [block for block in response.text.split("\n\n") if block]
    assert blocks[0].startswith("id: ") and "event: status" in blocks[0]
    assert blocks[-1].startswith("event: end")
    assert len(blocks) == 3


def test_train_jobs_need_no_model_but_may_not_name_server_files(api):
    response = api.post("/jobs", json={"kind": "train", "config": {"arch": "mlp", "epochs": 1}})
    assert response.status_code == 202
    for key in ("data", "init_onnx"):
        response = api.post("/jobs", json={"kind": "train", "config": {key: "/etc/passwd"}})
        assert response.status_code == 422 and f"config.{key}" in response.json()["detail"]
    assert "model_id" in api.post("/jobs", json={"kind": "verify"}).json()["detail"]


def test_a_train_config_the_trainer_would_reject_is_refused_before_queueing_naming_each_field(api):
    before = api.get("/jobs").json()
    response = api.post("/jobs", json={"kind": "train", "config": {"method": "sgd", "eps": -1, "arch": "mlp"}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "config.method" in detail and "config.eps" in detail
    response = api.post("/jobs", json={"kind": "train", "config": {"arch": "resnet-1000"}})
    assert response.status_code == 422 and "unknown architecture 'resnet-1000'" in response.json()["detail"]
    assert api.get("/jobs").json() == before
