"""Load: many concurrent job creations and polls; what fails, how slowly, and duplicates.

Creations carry an `Idempotency-Key` each and are retried (a 503 after its Retry-After,
a timeout or a dropped connection at once) with the same key, as a careful client does;
polls read the created jobs. Afterwards the owner's jobs are counted: every job beyond the
distinct ids the clients were given is one they never learned of (a duplicate made by a
retry, or a creation committed after its client gave up).

    python -m benchmarks.reliability.load --base-url http://127.0.0.1:8000/api/v1 --token cb_...
        [--concurrency 50,100,200,400] [--requests N] [--timeout 30]
    python -m benchmarks.reliability.load --serve embedded|postgres   (a fresh local server)

`run_load(base_url, token, concurrency, n_requests)` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from core.data import BUNDLED_BENCHMARKS

MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 5.0


def upload_model(base_url: str, token: str) -> str:
    path = BUNDLED_BENCHMARKS / "mlp" / "onnx" / "tiny.onnx.gz"
    response = httpx.post(f"{base_url}/models", files={"file": (path.name, path.read_bytes())},
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    response.raise_for_status()
    return response.json()["id"]


def count_jobs(base_url: str, token: str, patience_s: float = 300.0) -> int:
    """How many jobs the owner has (paged through GET /jobs), asking again while the server
    is still busy with the load (5xx, timeouts) for up to `patience_s`."""
    deadline = time.monotonic() + patience_s
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            try:
                return _count(client)
            except (httpx.TransportError, httpx.HTTPStatusError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)


def _count(client: httpx.Client) -> int:
    total, cursor = 0, None
    while True:
        page = client.get("/jobs", params={"limit": 500, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        total += len(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return total


class Tally:
    """Every attempt's outcome and latency."""

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.errors = 0  # timeouts and dropped connections
        self.missing_retry_after = 0
        self.failed = 0  # logical requests that never got a 2xx

    def record(self, response: httpx.Response, seconds: float) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        self.latencies.append(seconds)
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.missing_retry_after += 1

    def figures(self) -> dict[str, Any]:
        def quantile(q: float) -> float | None:
            if len(self.latencies) < 2:
                return self.latencies[0] if self.latencies else None
            return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q * 100) - 1]

        return {"5xx": sum(n for code, n in self.statuses.items() if code >= 500 and code != 503),
                "503": self.statuses.get(503, 0), "timeouts": self.errors, "503_without_retry_after": self.missing_retry_after,
                "statuses": dict(sorted(self.statuses.items())), "failed": self.failed,
                "p50_s": quantile(0.50), "p95_s": quantile(0.95), "p99_s": quantile(0.99)}


async def _attempts(client: httpx.AsyncClient, tally: Tally, send) -> httpx.Response | None:
    """Send until a non-503 answer or MAX_ATTEMPTS; None when none came."""
    for _ in range(MAX_ATTEMPTS):
        started = time.monotonic()
        try:
            response = await send(client)
        except httpx.TransportError:
            tally.errors += 1
            continue
        tally.record(response, time.monotonic() - started)
        if response.status_code != 503:
            return response
        await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), MAX_RETRY_AFTER_S))
    tally.failed += 1
    return None


async def _run(base_url: str, token: str, concurrency: int, n_requests: int, timeout: float, work) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=timeout, limits=limits) as client:
        async def one(index: int) -> None:
            async with gate:
                await work(client, tally, index)

        await asyncio.gather(*(one(i) for i in range(n_requests)))
    return tally


def run_load(base_url: str, token: str, concurrency: int, n_requests: int, *, model_id: str | None = None,
             timeout: float = 30.0, polls: int | None = None) -> dict[str, Any]:
    """`n_requests` job creations (inspect jobs of a tiny model), then `polls` (default
    `n_requests`) reads of the created jobs, `concurrency` at a time. Returns, for each,
    the count of non-503 5xx, 503s (and any without Retry-After), timeouts, p50/p95/p99
    latency; and `unknown_jobs`: jobs created that no client was told of."""
    model_id = model_id or upload_model(base_url, token)
    before = count_jobs(base_url, token)
    ids: dict[str, set[str]] = {}

    async def create(client: httpx.AsyncClient, tally: Tally, index: int) -> None:
        key = uuid.uuid4().hex
        body = {"kind": "inspect", "model_id": model_id}
        response = await _attempts(client, tally, lambda c: c.post("/jobs", json=body, headers={"Idempotency-Key": key}))
        if response is not None and response.is_success:
            ids.setdefault(key, set()).add(response.json()["id"])

    started = time.monotonic()
    creations = asyncio.run(_run(base_url, token, concurrency, n_requests, timeout, create))
    creation_s = time.monotonic() - started
    job_ids = sorted(set().union(*ids.values())) if ids else []

    async def poll(client: httpx.AsyncClient, tally: Tally, index: int) -> None:
        job_id = job_ids[index % len(job_ids)]
        await _attempts(client, tally, lambda c: c.get(f"/jobs/{job_id}"))

    started = time.monotonic()
    reads = asyncio.run(_run(base_url, token, concurrency, polls or n_requests, timeout, poll)) if job_ids else Tally()
    poll_s = time.monotonic() - started
    created = count_jobs(base_url, token) - before
    return {"concurrency": concurrency, "requests": n_requests,
            "create": {**creations.figures(), "per_s": n_requests / creation_s},
            "poll": {**reads.figures(), "per_s": (polls or n_requests) / poll_s if job_ids else 0.0},
            "jobs_created": created, "ids_returned": len(job_ids),
            "unknown_jobs": created - len(job_ids),
            "keys_with_two_ids": sum(1 for found in ids.values() if len(found) > 1)}


def row(result: dict[str, Any]) -> str:
    def part(name: str, figures: dict[str, Any]) -> str:
        ms = lambda s: "-" if s is None else f"{s * 1000:.0f}"  # noqa: E731
        return (f"{name} 5xx {figures['5xx']:4d} 503 {figures['503']:4d} (no Retry-After "
                f"{figures['503_without_retry_after']}) t/o {figures['timeouts']:4d} gave up {figures['failed']:3d} "
                f"p50/95/99 {ms(figures['p50_s'])}/{ms(figures['p95_s'])}/{ms(figures['p99_s'])} ms "
                f"{figures['per_s']:.0f}/s")

    return (f"c={result['concurrency']:<4d} n={result['requests']:<5d} {part('create', result['create'])} | "
            f"{part('poll', result['poll'])} | jobs {result['jobs_created']} ids {result['ids_returned']} "
            f"unknown {result['unknown_jobs']}")


def _serve(kind: str, workdir: Path):
    """A fresh local `certbound serve` (--no-worker on PostgreSQL + Redis): (base, token, stop)."""
    import os

    from tests.service.support import ServeProcess, new_token, postgres_redis_settings

    if kind == "embedded":
        serve = ServeProcess(workdir / "data", workdir / "serve.log").start(need_worker=False)
        return serve.base, serve.printed_token(), serve.stop
    postgres = os.environ.get("CERTBOUND_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis = os.environ.get("CERTBOUND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    context = postgres_redis_settings(workdir / "data", postgres, redis)
    settings = context.__enter__()
    serve = ServeProcess(workdir / "data", workdir / "serve.log", settings).start(need_worker=False)

    def stop() -> None:
        serve.stop()
        context.__exit__(None, None, None)

    return serve.base, new_token(settings, "load"), stop


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url")
    parser.add_argument("--token")
    parser.add_argument("--serve", choices=["embedded", "postgres"])
    parser.add_argument("--concurrency", default="50,100,200,400")
    parser.add_argument("--requests", type=int, default=0, help="per level; default twice the concurrency")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout per attempt, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        stop = None
        if args.serve:
            base, token, stop = _serve(args.serve, Path(workdir))
        else:
            base, token = args.base_url, args.token
        try:
            model_id = upload_model(base, token)
            for level in (int(c) for c in args.concurrency.split(",")):
                print(row(run_load(base, token, level, args.requests or 2 * level, model_id=model_id,
                                   timeout=args.timeout)), flush=True)
        finally:
            if stop is not None:
                stop()


if __name__ == "__main__":
    main()
