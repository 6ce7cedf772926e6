"""Train jobs that distil the job's model (kd, adv-kd, faithful-kd): refused without a teacher
or with a server path, and run by the worker's runner into a new model of the owner."""

from __future__ import annotations

from tests.core.distillation.nets import mlp
from worker.runner import run_attempt

QUICK = dict(arch="mlp-small", epochs=1, batch_size=32, train_subset=64, test_subset=16, eval_crown_subset=0,
             eval_alpha_subset=0, complete_subset=0, eval_pgd_steps=2, eval_pgd_restarts=1, device="cpu", eps=0.05,
             warmup_epochs=0, ramp_epochs=1)


def test_a_distillation_job_needs_its_teacher_as_model_id(api):
    response = api.post("/jobs", json={"kind": "train", "config": {"method": "faithful-kd"}})
    assert response.status_code == 422 and "faithful-kd train job needs model_id: the teacher" in response.text
    response = api.post("/jobs", json={"kind": "train", "config": {"method": "kd", "teacher": "/etc/passwd"}})
    assert response.status_code == 422 and "config.teacher" in response.text


def test_a_faithful_kd_job_distils_the_job_s_model(api, api_settings, tmp_path):
    path = tmp_path / "teacher.onnx"
    path.write_bytes(mlp([16, 10], 0, input_shape=(1, 1, 28, 28)))
    teacher = api.upload_ok("models", path)
    response = api.post("/jobs", json={"kind": "train", "model_id": teacher["id"], "timeout_s": 120,
                                       "config": {"method": "faithful-kd", **QUICK}})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    result = api.get(f"/jobs/{job_id}").json()["result"]
    student = api.get(f"/models/{result['model_id']}").json()
    assert student["filename"] == f"trained-{job_id}.onnx" and student["unsupported"] == []
    assert result["report"]["samples"] == 16
