"""A pinn job's page: the figures per condition and the heat map of per-piece bounds, from
a job the worker's runner really ran."""

from __future__ import annotations

import re

from tests.core.pinn.onnx_files import tiny_pinn
from tests.web.support import text_of
from worker.runner import run_attempt


def test_a_pinn_job_page_shows_its_figures_and_heat_map(alice, api_settings, tmp_path):
    model = alice.api.upload_ok("models", tiny_pinn(tmp_path / "pinn.onnx"))
    config = {"budget_s": 2.0, "grid": 21, "target_ratio": 1.2, "conditions": ["residual"]}
    job_id = alice.api.post("/jobs", json={"kind": "pinn", "model_id": model["id"], "config": config}).json()["id"]
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    result = alice.api.get(f"/jobs/{job_id}").json()["result"]["conditions"]["residual"]
    page = alice.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Worst |residual| of burgers" in text and "residual" in text
    assert f"{result['ratio']:.3f}" in text
    rects = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)"\s+width="([\d.]+)" height="([\d.]+)"', page.text)
    assert len(rects) == result["pieces"] > 1
    # the pieces tile the 400 x 200 map
    assert abs(sum(float(w) * float(h) for _, _, w, h in rects) - 400 * 200) < 1.0
    assert 'id="chart"' not in page.text  # the verify chart is not a pinn job's
