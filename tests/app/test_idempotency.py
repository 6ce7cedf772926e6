"""POST /jobs with an Idempotency-Key: a retry gets the job the first request made.
(Concurrent retries against a real server: tests/app/test_concurrency.py.)"""

from __future__ import annotations

import pytest


@pytest.fixture
def nano(api, bundled_benchmarks):
    return api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")


def create(api, body, key):
    return api.post("/jobs", json=body, headers={"Idempotency-Key": key})


def test_a_retry_with_the_same_key_and_body_gets_the_same_job(api, nano):
    first = create(api, {"kind": "inspect", "model_id": nano["id"]}, "k-1")
    # The same request spelled differently (key order, an explicit default) is the same request.
    again = create(api, {"model_id": nano["id"], "config": {}, "kind": "inspect"}, "k-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    # Without a key, the same body makes another job.
    assert api.submit(nano, kind="inspect") != first.json()["id"]
    assert len(api.get("/jobs").json()["items"]) == 2


def test_the_same_key_with_another_body_is_422_naming_the_key(api, nano):
    first = create(api, {"kind": "inspect", "model_id": nano["id"]}, "k-2")
    other = create(api, {"kind": "inspect", "model_id": nano["id"], "timeout_s": 5}, "k-2")
    assert other.status_code == 422
    assert "k-2" in other.json()["detail"] and other.json()["idempotency_key"] == "k-2"
    assert other.json()["job_id"] == first.json()["id"]
    assert len(api.get("/jobs").json()["items"]) == 1


def test_keys_belong_to_their_owner(api, other_api, bundled_benchmarks, nano):
    theirs = other_api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    mine = create(api, {"kind": "inspect", "model_id": nano["id"]}, "shared-key")
    other = create(other_api, {"kind": "inspect", "model_id": theirs["id"]}, "shared-key")
    assert (mine.status_code, other.status_code) == (202, 202)
    assert mine.json()["id"] != other.json()["id"]
    replayed = create(other_api, {"kind": "inspect", "model_id": theirs["id"]}, "shared-key")
    assert replayed.json()["id"] == other.json()["id"] and replayed.headers["idempotent-replayed"] == "true"


def test_a_refused_request_stores_no_key(api, nano):
    # The first attempt is invalid (no model_id for an inspect job): nothing is kept, so the
    # corrected request may reuse the key.
    assert create(api, {"kind": "inspect"}, "k-3").status_code == 422
    made = create(api, {"kind": "inspect", "model_id": nano["id"]}, "k-3")
    assert made.status_code == 202
    assert create(api, {"kind": "inspect", "model_id": nano["id"]}, "k-3").json()["id"] == made.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_empty_or_overlong_keys_are_422(api, nano, key):
    response = create(api, {"kind": "inspect", "model_id": nano["id"]}, key)
    assert response.status_code == 422
    assert "idempotency-key" in response.text.lower()
