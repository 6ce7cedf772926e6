"""The check-part kind: one part of a distributed verify job's certificate check
(worker/parallel_check.py): the checker on the subtrees of part k of n."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    from app.services.uploads import property_limits
    from core.certificate import Certificate, check
    from core.certificate.split import plan_of
    from core.spec import load_property

    config = context.job.config
    certificate = Certificate.load(context.store.read(config["certificate"]))
    prop = load_property(context.property_bytes(), property_limits(context.settings))
    plan = plan_of(certificate, config["parts"])
    result = check(context.model_bytes(), prop, certificate, config.get("time_limit_s"), part=(config["part"], plan))
    return Outcome(verdict=None, result={"valid": result.valid, "reason": result.reason, "time_s": result.time_s,
                                         "leaves": result.leaves, "stopped": result.stopped})
