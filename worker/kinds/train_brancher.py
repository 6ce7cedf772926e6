"""The train-brancher kind: the branching GNN trained on the owner's branching-data
shards; the brancher is stored as the job's artifact `brancher`, and verify jobs use it
as `config.branching = "gnn:<this job's id>"`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Train with the lookback terms, keep the epoch that solved the validation properties fastest."""
    from core.bab.learned.config import TrainBrancherConfig, TrainBrancherJobConfig
    from core.bab.learned.data import read_shard
    from core.bab.learned.fit import train_from_shards
    from worker.kinds.stored import MissingArtifact, job_artifact

    job = context.job
    try:
        options = TrainBrancherJobConfig(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    try:
        shards = [read_shard(job_artifact(context, data_id, "branching-data", "branching-data"))
                  for data_id in options.data]
    except (MissingArtifact, ValueError) as exc:
        return Outcome(verdict="error", status="failed", error=str(exc))
    config = TrainBrancherConfig(**options.model_dump(exclude={"data"}))
    brancher, history = train_from_shards(shards, config, progress=lambda e: context.report(
        jsonable({"phase": "epoch", **e}), milestone=True))
    return Outcome(verdict=None, result={"brancher_id": job.id, "branching": f"gnn:{job.id}",
                                         "history": jsonable(history)},
                   artifacts={"brancher": brancher})
