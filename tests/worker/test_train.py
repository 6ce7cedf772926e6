"""A train job on the real worker: certified training on the shared MNIST copy, and the
trained network joins the owner's models, ready to verify."""

from __future__ import annotations

import pytest

# A run of a few seconds: a small MLP on 64 images, evaluation shrunk to match.
QUICK = dict(arch="mlp", epochs=1, batch_size=32, train_subset=64, test_subset=16, eval_crown_subset=0,
             eval_alpha_subset=0, complete_subset=0, eval_pgd_steps=2, eval_pgd_restarts=1, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("worker_settings", ["sqlite"], indirect=True)
def test_train_job_adds_the_trained_network_to_the_owner_s_models(wapi, worker_settings):
    response = wapi.post("/jobs", json={"kind": "train", "timeout_s": 120, "config": {"method": "ibp", **QUICK}})
    assert response.status_code == 202, response.text
    job = wapi.wait(response.json()["id"], timeout=120)
    assert (job["status"], job["verdict"]) == ("succeeded", None), job
    assert job["result"]["report"]["samples"] == 16 and len(job["result"]["history"]) == 1
    model = wapi.get(f"/models/{job['result']['model_id']}").json()
    assert model["filename"] == f"trained-{job['id']}.onnx" and model["unsupported"] == []
    assert [io["shape"][-1] for io in model["outputs"]] == [10]
    events = wapi.get(f"/jobs/{job['id']}/events").json()
    assert any(e["type"] == "progress" and e["data"]["phase"] == "epoch" for e in events)
    assert not (worker_settings.data_dir / "checkpoints" / job["id"]).exists()

