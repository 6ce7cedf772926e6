"""The branching-data kind: strong-branching decisions on the job's model, logged as a
shard (artifact `branching-data`) that train-brancher jobs train on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Strong branching on robustness properties of the server's MNIST training images;
    properties not reached within timeout_s are left out (the shard keeps the rest)."""
    from core.bab.learned.config import BranchingDataConfig
    from core.bab.learned.data import shard_bytes, shard_summary
    from core.bab.learned.fit import branching_data
    from core.model import load_network

    job = context.job
    try:
        config = BranchingDataConfig(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    network = load_network(context.model_bytes())
    started = time.monotonic()
    done = [0]

    def progress(name: str, search: dict) -> bool:
        done[0] += 1
        report = {"phase": "branching-data", "property": name, "searches": done[0], "status": search["status"],
                  "logged": len(search["records"])}
        return context.report(report) or time.monotonic() - started > job.timeout_s

    try:
        shard = branching_data(network, config, progress=progress)
    except ValueError as exc:
        return Outcome(verdict="error", status="failed", error=str(exc))
    return Outcome(verdict=None, result=shard_summary(shard), artifacts={"branching-data": shard_bytes(shard)})
