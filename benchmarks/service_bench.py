"""Service throughput and latency, on the embedded default and on PostgreSQL + Redis.

Prints job creations/s and status polls/s (concurrent HTTP clients against a real
`certbound serve`), and enqueue->start latency (created_at to started_at of jobs sent one
at a time to an idle worker: median and p95).

    python benchmarks/service_bench.py [--backend embedded|postgres|both] [--seconds 5]
        [--clients 4] [--latency-jobs 20]

PostgreSQL and Redis come from CERTBOUND_TEST_POSTGRES_URL / CERTBOUND_TEST_REDIS_URL
(defaults: the local servers); a fresh database and Redis key prefix are used and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import BENCHMARKS  # noqa: E402
from tests.service.support import ServeProcess, WorkerProcess, new_token, postgres_redis_settings  # noqa: E402

MODEL = BENCHMARKS / "test" / "onnx" / "test_nano.onnx.gz"


@contextmanager
def embedded(workdir: Path) -> Iterator[tuple[str, str]]:
    serve = ServeProcess(workdir / "data", workdir / "serve.log").start()
    try:
        yield serve.base, serve.printed_token()
    finally:
        serve.stop()


@contextmanager
def postgres_redis(workdir: Path) -> Iterator[tuple[str, str]]:
    postgres = os.environ.get("CERTBOUND_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis = os.environ.get("CERTBOUND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with postgres_redis_settings(workdir / "data", postgres, redis) as settings:
        worker = WorkerProcess(settings, workdir / "worker.log").start()
        serve = ServeProcess(workdir / "data", workdir / "serve.log", settings).start()
        try:
            yield serve.base, new_token(settings, "bench")
        finally:
            serve.stop()
            worker.stop()


def hammer(clients: list[httpx.Client], seconds: float, request) -> float:
    """Requests per second that `clients` achieve together, calling `request(client)`."""
    counts = [0] * len(clients)
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        while time.monotonic() < stop:
            request(clients[index])
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.removesuffix("Z"))


def latencies(client: httpx.Client, model_id: str, count: int) -> list[float]:
    found = []
    for _ in range(count):
        job_id = client.post("/jobs", json={"kind": "inspect", "model_id": model_id}).json()["id"]
        while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
            time.sleep(0.02)
        found.append((parse(job["started_at"]) - parse(job["created_at"])).total_seconds())
    return found


def measure(name: str, base: str, token: str, args) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=base, headers=headers, timeout=60) for _ in range(args.clients)]
    client = clients[0]
    model_id = client.post("/models", files={"file": (MODEL.name, MODEL.read_bytes())}).json()["id"]
    latencies(client, model_id, 2)  # warm-up: the worker's first job imports torch
    found = latencies(client, model_id, args.latency_jobs)
    created: list[str] = []

    def create(c: httpx.Client) -> None:
        created.append(c.post("/jobs", json={"kind": "inspect", "model_id": model_id}).json()["id"])

    creations = hammer(clients, args.seconds, create)
    for job_id in created:  # keep the worker from running them all
        client.post(f"/jobs/{job_id}/cancel")
    polls = hammer(clients, args.seconds, lambda c: c.get(f"/jobs/{created[0]}").raise_for_status())
    p95 = statistics.quantiles(found, n=20)[-1]
    print(f"{name:10s} creations/s {creations:7.1f}  polls/s {polls:7.1f}  "
          f"enqueue->start median {statistics.median(found) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
          f"({args.clients} clients, {args.seconds:g} s each, {len(found)} latency jobs)")
    for c in clients:
        c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--latency-jobs", type=int, default=20)
    args = parser.parse_args()
    backends = {"embedded": embedded, "postgres": postgres_redis}
    for name in (["embedded", "postgres"] if args.backend == "both" else [args.backend]):
        with tempfile.TemporaryDirectory() as workdir, backends[name](Path(workdir)) as (base, token):
            measure(name, base, token, args)


if __name__ == "__main__":
    main()
