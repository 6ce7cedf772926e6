"""Load slice: 200 job creations (with Idempotency-Key) and 200 polls, 50 at a time,
against `certbound serve`: no 5xx but 503s with Retry-After, no duplicate jobs."""

from __future__ import annotations

import pytest

from benchmarks.reliability.deployment import Deployment
from benchmarks.reliability.figures import violations
from benchmarks.reliability.load import run_load, upload_model


@pytest.mark.slow
def test_load_embedded_concurrency_50(tmp_path):
    with Deployment.start("embedded", tmp_path) as deployment:
        model_id = upload_model(deployment.base_url, deployment.token)
        result = run_load(deployment.base_url, deployment.token, 50, 200, model_id=model_id)
    assert violations("load", {**result, "polls": 200}) == [], result
    assert result["ids_returned"] + result["create"]["failed"] == 200, result
