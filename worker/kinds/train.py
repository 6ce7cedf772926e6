"""The train kind: certified training, the trained network added to the owner's models."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Train a network with certified training (fine-tuning the job's model when it has
    one; distilling it, for kd, adv-kd and faithful-kd) within timeout_s, and add the
    result to the owner's models. A re-run after a
    lost worker resumes from the job's checkpoint."""
    from app.services.jobs import checkpoint_dir
    from core.training import TrainConfig, train as run_training
    from core.training.config import DISTILLATION_METHODS

    job = context.job
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        overrides = {}
        if job.model_id is not None:  # the teacher of a distillation method, else the network to fine-tune
            key = "teacher" if job.config.get("method") in DISTILLATION_METHODS else "init_onnx"
            overrides[key] = Path(scratch) / "model.onnx"
            overrides[key].write_bytes(context.model_bytes())
        try:
            config = TrainConfig(**job.config, **overrides)
        except ValidationError as exc:
            return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
        out_of_time = [False]

        def progress(event: dict) -> bool:
            out_of_time[0] = time.monotonic() - started > job.timeout_s
            # every epoch's figures are kept: they are the training curve
            return context.report(jsonable(event), milestone=event.get("phase") == "epoch") or out_of_time[0]

        checkpoints = checkpoint_dir(context.settings, job.id)
        result = run_training(config, progress, checkpoint_dir=checkpoints)
        shutil.rmtree(checkpoints, ignore_errors=True)  # kept only while a re-run may resume
    model_id = context.register_model(result.onnx, f"trained-{job.id}.onnx")
    report = jsonable(asdict(result.report)) if result.report is not None else None
    return Outcome(verdict="timeout" if out_of_time[0] else None,
                   result={"model_id": model_id, "report": report, "history": jsonable(result.history),
                           "stopped": result.stopped})
