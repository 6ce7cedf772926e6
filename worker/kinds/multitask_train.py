"""The multitask-train kind: one network for several tasks, added to the owner's models
with per-task accuracy, verified accuracy, time per step and peak memory in the result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Train within timeout_s (stopping after the epoch that passes it, the network kept without
    evaluation) and register the trained network. No checkpoints: a re-run starts over."""
    from core.training.multitask.config import MultiTaskConfig
    from core.training.multitask.trainer import train_multitask

    job = context.job
    try:
        config = MultiTaskConfig(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    deadline = time.monotonic() + job.timeout_s
    late = [False]

    def progress(event: dict) -> bool:
        late[0] = late[0] or time.monotonic() > deadline
        cancel = context.report(jsonable(event), milestone=event.get("phase") == "epoch")
        return bool(cancel) or late[0]

    result = train_multitask(config, progress)
    report = jsonable(result.report.to_dict()) if result.report is not None else None
    model_id = context.register_model(result.onnx, f"trained-{job.id}.onnx")
    return Outcome(verdict="timeout" if late[0] else None,
                   result={"model_id": model_id, "report": report, "history": jsonable(result.history),
                           "stopped": result.stopped})
