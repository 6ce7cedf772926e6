"""The pinn kind: certify a physics-informed network's worst-case PDE residual over its domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.result import Progress
from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext

# The tolerance verdict as the service's verdicts: "some point exceeds the tolerance" is
# the property decided, so a tolerance that holds is unsat and one that fails is sat.
VERDICTS = {"holds": "unsat", "fails": "sat", "unknown": "unknown", None: None}
# Of the job's timeout, the share the splitting may use (loading, the grid and the
# certificate's check take the rest).
SPLIT_SHARE = 0.7


def run(context: "JobContext") -> Outcome:
    """Greedy-split certification of every asked condition within the job's timeout."""
    from core.model import load_network
    from core.pinn.certificate import build_certificate
    from core.pinn.certify import certify_pinn
    from core.pinn.check import check_pinn
    from core.pinn.network import PinnNetworkError, from_network
    from core.pinn.options import PinnOptions

    job = context.job
    try:
        options = PinnOptions(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    options = options.model_copy(update={"budget_s": min(options.budget_s, SPLIT_SHARE * job.timeout_s)})
    context.progress(Progress(phase="loading"))
    try:
        mlp = from_network(load_network(context.model_bytes()))
    except PinnNetworkError as exc:
        return Outcome(verdict="error", status="failed", error=str(exc))

    def progress(event: dict) -> bool:
        return context.report(jsonable(event))

    result = certify_pinn(mlp, options, progress)
    context.progress(Progress(phase="checking", elapsed_s=result.elapsed_s))
    onnx_bytes = context.model_bytes()
    certificate = build_certificate(onnx_bytes, result)
    check = check_pinn(onnx_bytes, certificate)
    summary = jsonable(result.summary())
    summary["check"] = {"valid": check.valid, "reason": check.reason, "certified": check.certified}
    verdict = result.verdict
    if verdict == "holds" and not (check.valid and check.verdict == "holds"):
        verdict = "unknown"  # no checked certificate, no proof
    summary["tolerance_verdict"] = verdict
    return Outcome(verdict=VERDICTS[verdict], result=summary, artifacts={"certificate": certificate})
