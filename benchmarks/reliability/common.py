"""What the parts share: the benchmark instances used as jobs, uploads, waiting for jobs."""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.reliability.deployment import REPO
from core.data import BUNDLED_BENCHMARKS

# The VNN-COMP instances (not shipped): CERTBOUND_SHARED_DIR's benchmarks/, by default ../shared's.
SHARED = Path(os.environ.get("CERTBOUND_SHARED_DIR", REPO.parent / "shared"))
BENCHMARKS = SHARED / "benchmarks"
TERMINAL = ("succeeded", "failed", "cancelled")


def instance(benchmark: str, onnx: str, vnnlib: str, root: Path = BENCHMARKS) -> tuple[Path, Path]:
    folder = root / benchmark
    return folder / "onnx" / f"{onnx}.onnx.gz", folder / "vnnlib" / f"{vnnlib}.vnnlib.gz"


# (model, property, the verdict every run must give). LONG runs for a few seconds on one
# core (3.5 s of search, then the certificate check), so that a kill lands mid-job; QUICK
# are the bundled instances (core/data), decided in well under a second.
LONG = (*instance("acasxu", "ACASXU_run2a_1_1_batch_2000", "prop_5"), "unsat")
QUICK = [(*instance("mlp", "relu5", f"relu5_{verdict}", BUNDLED_BENCHMARKS), verdict) for verdict in ("sat", "unsat")]


def upload(client: httpx.Client, kind: str, path: Path) -> dict[str, Any]:
    response = client.post(f"/{kind}", files={"file": (path.name, path.read_bytes())})
    response.raise_for_status()
    return response.json()


def upload_pair(client: httpx.Client, model: Path, prop: Path) -> tuple[str, str]:
    return upload(client, "models", model)["id"], upload(client, "properties", prop)["id"]


def submit(client: httpx.Client, model_id: str, property_id: str, timeout_s: float = 120.0, **headers: str) -> httpx.Response:
    return client.post("/jobs", json={"model_id": model_id, "property_id": property_id, "timeout_s": timeout_s},
                       headers=headers)


def read_job(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    """The job, or None when the API says it does not exist (or cannot be reached)."""
    try:
        response = client.get(f"/jobs/{job_id}")
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def wait_jobs(client: httpx.Client, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any] | None]:
    """Each job's last state, once all are terminal or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, Any] | None] = {}
    pending = list(job_ids)
    while pending:
        for job_id in list(pending):
            last[job_id] = read_job(client, job_id)
            if last[job_id] is not None and last[job_id]["status"] in TERMINAL:
                pending.remove(job_id)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return last


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float | None]:
    return {"median": statistics.median(values) if values else None, "max": max(values) if values else None}
