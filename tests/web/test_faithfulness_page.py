"""A faithfulness job's page: the summary and the per-example table, from a job the worker's
runner really ran."""

from __future__ import annotations

from tests.core.distillation.nets import mlp
from tests.web.support import text_of
from worker.runner import run_attempt


def test_a_faithfulness_job_page_shows_each_example(alice, api_settings, tmp_path):
    path = tmp_path / "teacher.onnx"
    path.write_bytes(mlp([16, 10], 0, input_shape=(1, 1, 28, 28)))
    teacher = alice.api.upload_ok("models", path)
    config = {"student_model_id": teacher["id"], "eps": 1e-4, "n": 2, "example_timeout_s": 5, "attack_steps": 5,
              "device": "cpu", "threads": 1}
    job_id = alice.api.post("/jobs", json={"kind": "faithfulness", "model_id": teacher["id"],
                                           "config": config}).json()["id"]
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    rows = alice.api.get(f"/jobs/{job_id}").json()["result"]["examples"]
    page = alice.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert 'id="faithfulness-examples"' in page.text and "Certified agreement" in text
    assert page.text.count("<tr><td>") == len(rows) == 2
    assert all(r["agreement"] == "agree" for r in rows)  # a model against itself, on a tiny box
    assert page.text.count("<td>agree</td>") == 2
