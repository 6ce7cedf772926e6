"""pinn jobs through the API: refused with a 422 naming the problem, or run by the worker's
runner on the API's own database and store (as tests/app/test_certificate.py does)."""

from __future__ import annotations

import pytest

from core.pinn.check import check_pinn
from tests.core.pinn.onnx_files import relu_net, tiny_pinn
from tests.app.jobs import run_job


@pytest.fixture
def pinn_model(api, tmp_path) -> dict:
    return api.upload_ok("models", tiny_pinn(tmp_path / "pinn.onnx"))


@pytest.mark.parametrize("config, words", [
    ({"pde": "heat"}, "unknown pde 'heat'"),
    ({"domain": [[0, 1], [-3, 1]]}, "x range [-3.0, 1.0] leaves burgers's [-1, 1]"),
    ({"domain": [[0.5, 0.5], [-1, 1]]}, "t range [0.5, 0.5] is empty"),
    ({"tolerance": -1.0}, "tolerance"),
    ({"conditions": ["interior"]}, "conditions"),
    ({"pde": "schrodinger"}, "schrodinger needs a network from (t, x) to 2 output(s)"),
])
def test_bad_pinn_jobs_are_422_naming_the_problem(api, pinn_model, config, words):
    response = api.post("/jobs", json={"kind": "pinn", "model_id": pinn_model["id"], "config": config})
    assert response.status_code == 422 and words in response.text, response.text


def test_a_network_that_is_not_a_tanh_mlp_is_422(api, tmp_path):
    model = api.upload_ok("models", relu_net(tmp_path / "relu.onnx"))
    response = api.post("/jobs", json={"kind": "pinn", "model_id": model["id"]})
    assert response.status_code == 422 and "needs a tanh MLP; this network has Relu" in response.json()["detail"]
    response = api.post("/jobs", json={"kind": "pinn"})
    assert response.status_code == 422 and "model_id" in response.text


def test_a_pinn_job_round_trip(api, api_settings, pinn_model, tmp_path):
    config = {"pde": "burgers", "tolerance": 100.0, "budget_s": 3.0, "grid": 21, "target_ratio": 1.5}
    job = run_job(api, api_settings, {"kind": "pinn", "model_id": pinn_model["id"], "config": config,
                                      "timeout_s": 30}, queue="cpu")
    job_id = job["id"]
    result = job["result"]
    assert set(result["conditions"]) == {"residual", "initial", "boundary"}
    for c in result["conditions"].values():
        assert c["certified_max"] >= c["empirical_max"] > 0 and c["pieces"] == len(c["bounds"]) >= 1
    # a tolerance above every certified maximum holds: no point exceeds it (unsat), and the
    # certificate the job serves is the one the checker re-derived
    assert result["tolerance_verdict"] == "holds" and job["verdict"] == "unsat"
    assert result["check"]["valid"] and set(result["check"]["certified"]) == set(result["conditions"])
    served = api.get(f"/jobs/{job_id}/certificate")
    assert served.status_code == 200
    assert check_pinn(tiny_pinn(tmp_path / "again.onnx").read_bytes(), served.content).verdict == "holds"
    events = api.get(f"/jobs/{job_id}/events").json()
    splitting = [e["data"] for e in events if e["type"] == "progress" and e["data"].get("phase") == "splitting"]
    assert splitting and {"condition", "pieces", "certified_max", "empirical_max"} <= set(splitting[0])


def test_a_failing_tolerance_names_the_point(api, api_settings, pinn_model):
    config = {"tolerance": 1e-6, "conditions": ["initial"], "budget_s": 2.0, "grid": 21}
    job = run_job(api, api_settings, {"kind": "pinn", "model_id": pinn_model["id"], "config": config})
    assert job["verdict"] == "sat" and job["result"]["tolerance_verdict"] == "fails"
    point = job["result"]["failing_point"]
    assert point["condition"] == "initial" and point["point"][0] == 0.0 and point["residual"] > 1e-6
