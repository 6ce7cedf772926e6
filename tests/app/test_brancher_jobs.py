"""Learned branching through the API: branching-data and train-brancher jobs, and a verify
job that names the trained brancher as `gnn:<id>`; ids that are not the owner's trained
branchers are 422 before anything is queued."""

from __future__ import annotations

import numpy as np

from core.bab.learned.data import read_shard
from tests.app.jobs import run_job
from tests.core.bab.exact import random_mlp, relu_mlp


def test_unknown_or_unusable_brancher_ids_are_422(api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp/onnx/tiny.onnx.gz")
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp/vnnlib/tiny_unsat.vnnlib.gz")
    body = {"kind": "verify", "model_id": model["id"], "property_id": prop["id"]}
    for config, words in [({"branching": "gnn:nosuchjob"}, "no train-brancher job 'nosuchjob'"),
                          ({"branching": "gnn:"}, "config.branching"),
                          ({"relu_heuristic": "gnn", "brancher": "/etc/passwd"}, "cannot name server files"),
                          ({"relu_heuristic": "gnn"}, "needs brancher")]:
        response = api.post("/jobs", json={**body, "config": config})
        assert response.status_code == 422 and words in response.text, (config, response.text)
    # a verify job's id is not a brancher's
    verify_job = api.post("/jobs", json=body).json()["id"]
    response = api.post("/jobs", json={**body, "config": {"branching": f"gnn:{verify_job}"}})
    assert response.status_code == 422 and "no train-brancher job" in response.text
    response = api.post("/jobs", json={"kind": "train-brancher", "config": {"data": [verify_job]}})
    assert response.status_code == 422 and "no branching-data job" in response.text


def test_data_training_and_a_verify_job_that_uses_the_brancher(api, api_settings, tmp_path, bundled_benchmarks):
    weights, biases = random_mlp(np.random.default_rng(1), [784, 12, 12, 10])
    (tmp_path / "mnist.onnx").write_bytes(relu_mlp(weights, biases))
    model = api.upload_ok("models", tmp_path / "mnist.onnx")
    data = run_job(api, api_settings, {"kind": "branching-data", "model_id": model["id"], "timeout_s": 60,
                                       "config": {"properties": 1, "eps": 0.05, "max_domains": 30}})
    assert data["result"]["domains"] >= 2 and data["result"]["lookback_pairs"] >= 1
    trained = run_job(api, api_settings, {"kind": "train-brancher", "timeout_s": 60,
                                          "config": {"data": [data["id"]], "epochs": 1, "validation_properties": 0}})
    assert trained["result"]["branching"] == f"gnn:{trained['id']}"
    tiny = api.upload_ok("models", bundled_benchmarks / "mlp/onnx/tiny.onnx.gz")
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp/vnnlib/tiny_unsat.vnnlib.gz")
    job = run_job(api, api_settings, {"kind": "verify", "model_id": tiny["id"], "property_id": prop["id"],
                                      "timeout_s": 30, "config": {"branching": f"gnn:{trained['id']}"}})
    assert job["verdict"] == "unsat" and job["result"]["check"]["valid"]
    assert job["result"]["stats"]["branching"] == "relu"
    # the shard the data job stored is one the trainer reads
    from app.db.models import Artifact
    from app.db.session import session_scope
    from app.storage import ArtifactStore
    from sqlalchemy import select
    with session_scope(api_settings.database_url) as session:
        sha = session.scalars(select(Artifact.sha256).where(Artifact.job_id == data["id"])).first()
    shard = read_shard(ArtifactStore(api_settings.artifacts_dir).read(sha))
    assert len(shard["searches"]) >= 1 and shard["graph"]["sizes"] == [784, 12, 12, 10]
