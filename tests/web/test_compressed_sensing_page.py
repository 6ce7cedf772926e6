"""A compressed-sensing job's page: the problem, the whole-domain verdict, the baselines and
a row per piece, from a job the worker's runner really ran."""

from __future__ import annotations

import json
import re

from tests.core.compressed_sensing import tetra
from tests.web.support import text_of
from worker.runner import run_attempt

TETRA = json.loads(tetra.config().model_dump_json(include={"n", "m", "k", "low", "high", "matrix"}))


def test_a_compressed_sensing_job_page_shows_every_piece(alice, api_settings, tmp_path):
    path = tmp_path / "decoder.onnx"
    path.write_bytes(tetra.linear_decoder(0.8))
    model = alice.api.upload_ok("models", path)
    job_id = alice.api.post("/jobs", json={"kind": "compressed-sensing", "model_id": model["id"],
                                           "config": {**TETRA, "baseline_samples": 50}}).json()["id"]
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    page = alice.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "n = 4, m = 3, k = 1, linear measurements" in text
    assert "proven: every admissible x is decoded to its support" in text
    assert "OMP fails on 0.0 %" in text and "its guarantee applies" in text
    table = page.text.split('id="cs-pieces"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([+-]\d)</td><td>(\w+)</td>", table)
    assert sorted(rows) == sorted((f"{s}{i}", "unsat") for i in range(4) for s in "+-")
    assert 'id="chart"' not in page.text
