"""multitask-train jobs through the API: a config the trainer would refuse is a 422 naming the field;
a valid one runs on the worker's runner (on the API's own database and store) and its result holds
per-task figures, the trained network joining the owner's models."""

from __future__ import annotations

import pytest

from tests.app.jobs import run_job

# A run of a few seconds: the MLP trunk on 64 images, two ε of robust MNIST, small evaluation.
QUICK = dict(arch="mlp", epochs=1, batch_size=32, train_subset=64, test_subset=16, eval_crown_subset=4, device="cpu")


@pytest.mark.parametrize("config, words", [
    ({"tasks": [{"label": "digit"}]}, "tasks.0.label: multi-mnist has labels left, right, not 'digit'"),
    ({"dataset": "mnist", "tasks": [{"method": "ibp"}]}, "a clean task has eps 0"),
    ({"combiner": "nash"}, "config.combiner"),
    ({"dropout": 1.5}, "config.dropout"),
    ({"heads": "shared"}, "one shared head needs every task on the same labels"),
    ({"data": "/etc/passwd"}, "config.data: a multitask-train job cannot name server files"),
    ({"early_stopping": 0}, "config.early_stopping"),
])
def test_bad_multitask_configs_are_422_naming_the_field(api, config, words):
    response = api.post("/jobs", json={"kind": "multitask-train", "config": config})
    assert response.status_code == 422 and words in response.text, response.text


def test_a_multitask_job_takes_no_model(api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    response = api.post("/jobs", json={"kind": "multitask-train", "model_id": model["id"]})
    assert response.status_code == 422 and "model_id" in response.text


@pytest.mark.parametrize("api_settings", ["sqlite"], indirect=True)
def test_a_multitask_job_round_trip_reports_each_task(api, api_settings):
    config = {"dataset": "mnist", "method": "ibp", "tasks": [{"eps": 0.02}, {"eps": 0.05}], "combiner": "pcgrad",
              **QUICK}
    job = run_job(api, api_settings, {"kind": "multitask-train", "config": config, "timeout_s": 120})
    job_id = job["id"]
    report = job["result"]["report"]
    assert [(t["label"], t["eps"]) for t in report["tasks"]] == [("digit", 0.02), ("digit", 0.05)]
    for task in report["tasks"]:
        assert 0 <= task["ibp_verified"] <= task["accuracy"] <= 1 and task["crown_samples"] == 4
    assert report["step_s"] > 0 and report["peak_rss_mb"] > 0 and report["combiner_extra_mb"] > 0
    model = api.get(f"/models/{job['result']['model_id']}").json()
    assert model["unsupported"] == [] and [io["shape"][-1] for io in model["outputs"]] == [20]
    events = api.get(f"/jobs/{job_id}/events").json()
    epochs = [e["data"] for e in events if e["type"] == "progress" and e["data"].get("phase") == "epoch"]
    assert epochs and [t["eps"] for t in epochs[0]["tasks"]] == [0.02, 0.05]
