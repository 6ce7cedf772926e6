"""The verify kind: decide a property on a model, backed by a certificate or a counterexample."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.config import GNN_PREFIX
from core.result import Progress, Verdict, VerifyResult
from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from core.model.loader import Network
    from core.spec.property import Property
    from worker.runner import JobContext


def verify_outcome(network: "Network", prop: "Property", result: VerifyResult,
                   check_time_limit_s: float | None = None, checker=None) -> Outcome:
    """The outcome of a verify job; `result["check"]` says whether what backs the verdict
    held up: the independent checker on an unsat's certificate, onnxruntime on a sat's point.
    An unsat whose certificate fails the check is reported as unknown, saying so; one whose
    check ran past `check_time_limit_s` too, with the certificate kept to check offline."""
    from core.counterexample import result_text
    from core.verifier.certify import certified_result, replay

    artifacts = {}
    # an unsat that does not check is unknown
    result, certified = certified_result(network, prop, result, check_time_limit_s,
                                         *([checker] if checker is not None else []))
    summary = {"message": result.message, "elapsed_s": result.elapsed_s,
               "domains_visited": result.domains_visited, "lower_bound": result.lower_bound,
               "targets": jsonable(result.targets), "stats": jsonable(result.stats)}
    if certified is not None:
        summary["check"] = certified.summary()
        if result.verdict is Verdict.UNSAT or certified.check.stopped:
            artifacts["certificate"] = certified.data  # the zip `certbound check` reads
    if result.verdict is Verdict.SAT and result.counterexample is not None:
        cex = result.counterexample
        artifacts["counterexample"] = result_text(result.verdict, cex.x, cex.y).encode()
        summary["check"] = replay(network.onnx_bytes, prop, result.counterexample)
    failed = result.verdict is Verdict.ERROR
    return Outcome(verdict=result.verdict.value, result=summary, artifacts=artifacts,
                   status="failed" if failed else "succeeded", error=result.message if failed else None)


def run(context: "JobContext") -> Outcome:
    """Decide the property on the model with the engine's verifier."""
    from app.services.uploads import property_limits
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import VerifyConfig, verify as run_verifier

    job = context.job
    options = dict(job.config)
    if str(options.get("branching", "")).startswith(GNN_PREFIX):  # the stored brancher, as a file
        from core.bab.learned.model_file import BrancherFileError, load_brancher
        from worker.kinds.stored import MissingArtifact, brancher_file

        try:
            path = brancher_file(context, options["branching"][len(GNN_PREFIX):])
            load_brancher(path)
        except (MissingArtifact, BrancherFileError) as exc:
            return Outcome(verdict="error", status="failed", error=f"config.branching: {exc}")
        options.update(branching="relu", relu_heuristic="gnn", brancher=str(path))
    try:
        config = VerifyConfig(**{**options, "timeout_s": job.timeout_s})
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    context.progress(Progress(phase="loading"))
    network = load_network(context.model_bytes())
    prop = load_property(context.property_bytes(), property_limits(context.settings))  # the upload's limits
    checker, parts = None, 1
    if config.parallel not in (None, 1):
        from worker.parallel_check import SplitCheck
        from worker.parallel_verify import parts_of, run_parallel

        parts = parts_of(context, config.parallel)
    if parts > 1:
        result = run_parallel(context, network, prop, config, parts)
        checker = SplitCheck(context, parts)
    else:
        result = run_verifier(network, prop, config, progress=context.progress)
    if result.verdict is Verdict.UNSAT:
        # the run's figures stay in the job's latest progress while the checker runs
        context.progress(Progress("checking", result.domains_visited, 0, result.lower_bound, result.elapsed_s))
    return verify_outcome(network, prop, result, context.settings.check_time_limit(job.timeout_s), checker)
