"""The job list stays fast with 10,000 jobs (benchmarks/dashboard_bench.py measures it;
the target is 200 ms, asserted here with room for a busy shared machine)."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.web.support import fill_jobs, text_of


@pytest.mark.slow
def test_job_list_with_ten_thousand_jobs(alice, api_settings, bundled_benchmarks):
    model = alice.api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    prop = alice.api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "tiny_unsat.vnnlib.gz")
    ids = fill_jobs(api_settings, alice.secret, model["id"], prop["id"], 10_000)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        page = alice.get("/jobs")
        times.append(time.perf_counter() - start)
    assert page.status_code == 200 and "10,000 jobs." in text_of(page)
    assert page.text.count('<tr>') == 51 and ids[0][:8] in page.text and ids[50][:8] not in page.text
    assert statistics.median(times) < 1.0, times
