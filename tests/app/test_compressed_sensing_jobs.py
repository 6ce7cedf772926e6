"""compressed-sensing jobs through the API: refused with a 422 naming the problem, or run
by the worker's runner on the API's own database and store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.compressed_sensing.bundle import check_bundle
from tests.core.compressed_sensing import tetra
from tests.app.jobs import run_job

TETRA = json.loads(tetra.config().model_dump_json(include={"n", "m", "k", "low", "high", "matrix"}))


def _upload(api, tmp_path, name: str, data: bytes) -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    return api.upload_ok("models", path)


@pytest.mark.parametrize("config, words", [
    ({"n": 4, "m": 3, "k": 4}, "k = 4 must be below n = 4"),
    ({"n": 10, "m": 12}, "m = 12 must be below n = 10"),
    ({"n": 4, "m": 3, "k": 1, "matrix": [[1.0, 2.0]]}, "matrix must be 3 rows of 4 numbers"),
    ({"measurement": "quantised"}, "measurement"),
    ({"workers": 0}, "workers"),
])
def test_bad_compressed_sensing_jobs_are_422_naming_the_problem(api, config, words):
    response = api.post("/jobs", json={"kind": "compressed-sensing", "config": config})
    assert response.status_code == 422 and words in response.text, response.text


def test_a_decoder_of_the_wrong_size_is_422(api, tmp_path):
    model = _upload(api, tmp_path, "dec.onnx", tetra.linear_decoder(0.8))
    response = api.post("/jobs", json={"kind": "compressed-sensing", "model_id": model["id"],
                                       "config": {**TETRA, "n": 5, "matrix": None}})
    assert response.status_code == 422
    assert "maps 3 inputs to 4 outputs; a decoder for this problem maps m = 3 measurements to n = 5" in response.text


def test_verifying_an_uploaded_decoder_round_trip(api, api_settings, tmp_path):
    decoder = tetra.linear_decoder(0.8)
    model = _upload(api, tmp_path, "dec.onnx", decoder)
    job = run_job(api, api_settings, {"kind": "compressed-sensing", "model_id": model["id"],
                                      "config": {**TETRA, "baseline_samples": 50}, "timeout_s": 120}, queue="cpu")
    job_id = job["id"]
    result = job["result"]
    assert job["verdict"] == "unsat" and result["check"] == {"valid": True, "reason": ""}
    assert [p["verdict"] for p in result["piece_results"]] == ["unsat"] * 8 == ["unsat"] * result["pieces"]
    assert result["baselines"]["omp_failure"] == 0.0 and result["baselines"]["coherence_guarantee"]
    served = api.get(f"/jobs/{job_id}/certificate")
    assert served.status_code == 200 and check_bundle(decoder, served.content) == ""
    events = [e["data"] for e in api.get(f"/jobs/{job_id}/events").json() if e["type"] == "progress"]
    assert any(e.get("phase") == "pieces" and e.get("total") == 8 for e in events)


def test_a_wrong_decoder_gets_its_counterexample(api, api_settings, tmp_path):
    model = _upload(api, tmp_path, "bad.onnx", tetra.linear_decoder(0.5))
    job = run_job(api, api_settings, {"kind": "compressed-sensing", "model_id": model["id"],
                                      "config": {**TETRA, "baseline_samples": 0}})
    job_id = job["id"]
    assert job["verdict"] == "sat" and job["result"]["check"]["valid"]
    lines = dict(line.split(" ", 1) for line in api.get(f"/jobs/{job_id}/certificate").text.splitlines()[1:])
    x, scores = (np.array(lines[key].split(), dtype=float) for key in ("x", "scores"))
    assert (x != 0).sum() == 1 and np.any((scores > 0) != (x != 0))


def test_training_a_decoder_adds_it_to_the_models(api, api_settings):
    config = {**TETRA, "epochs": 2, "samples": 256, "hidden": [8], "rounds": 1, "baseline_samples": 0}
    job = run_job(api, api_settings, {"kind": "compressed-sensing", "config": config})
    result = job["result"]
    assert result["mode"] == "train" and job["verdict"] in ("unsat", "sat")
    assert api.get(f"/models/{result['model_id']}").status_code == 200
    assert [e["epoch"] for e in result["history"] if e["phase"] == "epoch"][:2] == [1, 2]
    assert any(e["phase"] == "verified" for e in result["history"])
