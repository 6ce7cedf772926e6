"""End to end: `certbound serve` as a subprocess on the embedded default (SQLite database
and broker), driven over HTTP with the token it prints, solving shared benchmark instances."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.support import instance

CERTBOUND = Path(sys.executable).parent / "certbound"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """(base URL, printed token, data dir) of a running `certbound serve`."""
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTBOUND_") or k.startswith("CERTBOUND_TEST")}
    with open(log, "wb") as handle:
        process = subprocess.Popen([str(CERTBOUND), "serve", "--data-dir", str(data_dir), "--port", str(port)],
                                   stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                health = httpx.get(f"{base}/healthz", timeout=2).json()
                if health["workers"]:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve not ready:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)
        token = next(line.rsplit(" ", 1)[1] for line in log.read_text().splitlines() if line.startswith("owner token"))
        yield base, token, data_dir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_serve_solves_benchmark_instances_end_to_end(served, benchmarks_dir):
    base, token, data_dir = served
    assert (data_dir / "token").read_text().strip() == token
    assert stat.S_IMODE((data_dir / "token").stat().st_mode) == 0o600
    headers = {"Authorization": f"Bearer {token}"}
    cases = [(instance(benchmarks_dir, "test", "test_sat", "test_prop"), "sat"),
             (instance(benchmarks_dir, "acasxu", "ACASXU_run2a_1_1_batch_2000", "prop_1"), "unsat")]
    jobs = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for (model_path, prop_path), expected in cases:
            model = client.post("/models", files={"file": (model_path.name, model_path.read_bytes())}).json()
            prop = client.post("/properties", files={"file": (prop_path.name, prop_path.read_bytes())}).json()
            response = client.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"], "timeout_s": 120})
            assert response.status_code == 202, response.text
            jobs[response.json()["id"]] = expected
        deadline = time.monotonic() + 240
        for job_id, expected in jobs.items():
            while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, job
                time.sleep(0.5)
            assert (job["status"], job["verdict"]) == ("succeeded", expected), job
            assert client.get(f"/jobs/{job_id}/certificate").status_code == 200
