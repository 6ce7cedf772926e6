"""faithfulness jobs through the API: refused with a 4xx naming the problem, or run by the
worker's runner on the API's own database and store, with per-example results."""

from __future__ import annotations

import pytest

from tests.core.distillation.nets import mlp
from tests.app.jobs import run_job

MNIST = (1, 1, 28, 28)


@pytest.fixture
def pair(api, tmp_path) -> tuple[dict, dict]:
    teacher, student = tmp_path / "teacher.onnx", tmp_path / "student.onnx"
    teacher.write_bytes(mlp([16, 10], 0, input_shape=MNIST))
    student.write_bytes(mlp([8, 10], 1, input_shape=MNIST))
    return api.upload_ok("models", teacher), api.upload_ok("models", student)


def test_bad_faithfulness_jobs_are_refused_naming_the_problem(api, pair, tmp_path):
    teacher, student = pair
    post = lambda config, model=teacher["id"]: api.post(  # noqa: E731
        "/jobs", json={"kind": "faithfulness", "model_id": model, "config": config})
    response = post({"eps": 0.1})
    assert response.status_code == 422 and "student_model_id" in response.text
    response = post({"student_model_id": "0" * 32})
    assert response.status_code == 422 and "no model" in response.text and "the student" in response.text
    response = post({"student_model_id": student["id"], "data": "/etc/passwd"})
    assert response.status_code == 422 and "config.data" in response.text
    response = post({"student_model_id": student["id"], "eps": 2})
    assert response.status_code == 422 and "eps" in response.text
    other = tmp_path / "small.onnx"
    other.write_bytes(mlp([8, 10], 2))  # 16 inputs, not 784
    small = api.upload_ok("models", other)
    response = post({"student_model_id": small["id"]})
    assert response.status_code == 422
    assert "has 784 inputs, the student 'small.onnx' 16: they must match" in response.json()["detail"]
    response = api.post("/jobs", json={"kind": "faithfulness", "config": {"student_model_id": student["id"]}})
    assert response.status_code == 422 and "model_id" in response.text


def test_a_faithfulness_job_round_trip(api, api_settings, pair):
    teacher, student = pair
    config = {"student_model_id": student["id"], "eps": 0.05, "n": 2, "example_timeout_s": 5, "attack_steps": 10,
              "attack_restarts": 2, "device": "cpu", "threads": 1}
    job = run_job(api, api_settings, {"kind": "faithfulness", "model_id": teacher["id"], "config": config,
                                      "timeout_s": 60})
    job_id = job["id"]
    rows, summary = job["result"]["examples"], job["result"]["summary"]
    assert [r["index"] for r in rows] == [0, 1] and summary["examples"] == 2 and summary["joint_chain"]
    for r in rows:
        assert r["agreement"] in ("agree", "disagree", "unknown") and r["gap_empirical"] <= r["gap_certified"]
    events = api.get(f"/jobs/{job_id}/events").json()
    assert any(e["type"] == "progress" and e["data"].get("phase") == "example" for e in events)
