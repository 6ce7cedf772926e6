"""Chaos slice: SIGKILL workers mid-job on real deployments; nothing lost, stuck or
changed, every kill recovered from. (Serve kills run in the full suite; that no worker
outlives its serve is tested in tests/service/test_serve_processes.py.)"""

from __future__ import annotations

import pytest

from benchmarks.reliability.chaos import run_chaos
from benchmarks.reliability.deployment import Deployment
from benchmarks.reliability.figures import violations


@pytest.mark.slow
def test_chaos_embedded_two_worker_kills(benchmarks_dir, tmp_path):
    with Deployment.start("embedded", tmp_path) as deployment:
        result = run_chaos(deployment, worker_kills=2)
        logs = deployment.log_tail()
    assert violations("chaos", result) == [], (result["detail"], logs)
    assert result["mid_job_kills"] == 2, result["detail"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_chaos_postgres_redis_worker_kill(benchmarks_dir, tmp_path, postgres_url, redis_url):
    with Deployment.start("postgres", tmp_path, postgres_url=postgres_url, redis_url=redis_url) as deployment:
        result = run_chaos(deployment, worker_kills=1)
        logs = deployment.log_tail()
    assert violations("chaos", result) == [], (result["detail"], logs)
    assert result["mid_job_kills"] == 1, result["detail"]
