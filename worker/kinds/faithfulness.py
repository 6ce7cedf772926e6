"""The faithfulness kind: certify a student (config.student_model_id) against its teacher
(the job's model) on a slice of the server's test set, with per-example results."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.result import Progress
from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Certify the pair example by example within timeout_s; what was done by then is kept."""
    from core.distillation.config import FaithfulnessConfig, FaithfulnessJobConfig
    from core.distillation.faithfulness import faithfulness
    from core.distillation.joint import JointError

    job = context.job
    try:
        options = FaithfulnessJobConfig(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    config = FaithfulnessConfig(**options.model_dump(exclude={"student_model_id"}))
    context.progress(Progress(phase="loading"))
    teacher, student = context.model_bytes(), context.model_bytes(options.student_model_id)
    started = time.monotonic()
    out_of_time = [False]

    def progress(event: dict) -> bool:
        out_of_time[0] = time.monotonic() - started > job.timeout_s
        return context.report(jsonable(event)) or out_of_time[0]

    try:
        report = faithfulness(teacher, student, config, progress)
    except JointError as exc:
        return Outcome(verdict="error", status="failed", error=str(exc))
    return Outcome(verdict="timeout" if out_of_time[0] else None, result=jsonable(report.to_dict()))
