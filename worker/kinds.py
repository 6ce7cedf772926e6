"""Job kinds: each turns a job's inputs into an Outcome by calling the engine in core/.

The engine is imported inside each function: torch loads only in worker processes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pydantic import ValidationError

from core.result import Progress, Verdict, VerifyResult
from worker.outcome import Outcome

if TYPE_CHECKING:
    from core.model.loader import Network
    from core.spec.property import Property
    from worker.runner import JobContext


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types: NumPy arrays and scalars become lists and numbers."""

    def fallback(obj: Any) -> Any:
        return obj.tolist() if hasattr(obj, "tolist") else str(obj)

    return json.loads(json.dumps(value, default=fallback))


def _verify_outcome(network: "Network", prop: "Property", result: VerifyResult,
                    check_time_limit_s: float | None = None) -> Outcome:
    """The outcome of a verify job; `result["check"]` says whether what backs the verdict
    held up: the independent checker on an unsat's certificate, onnxruntime on a sat's point.
    An unsat whose certificate fails the check is reported as unknown, saying so; one whose
    check ran past `check_time_limit_s` too, with the certificate kept to check offline."""
    from core.counterexample import result_text
    from core.verifier.certify import certified_result, replay

    artifacts = {}
    # an unsat that does not check is unknown
    result, certified = certified_result(network, prop, result, check_time_limit_s)
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


def verify(context: "JobContext") -> Outcome:
    """Decide the property on the model with the engine's verifier."""
    from app.services.uploads import property_limits
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import VerifyConfig, verify as run_verifier

    job = context.job
    try:
        config = VerifyConfig(**{**job.config, "timeout_s": job.timeout_s})
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    context.progress(Progress(phase="loading"))
    network = load_network(context.model_bytes())
    prop = load_property(context.property_bytes(), property_limits(context.settings))  # the upload's limits
    result = run_verifier(network, prop, config, progress=context.progress)
    if result.verdict is Verdict.UNSAT:
        # the run's figures stay in the job's latest progress while the checker runs
        context.progress(Progress("checking", result.domains_visited, 0, result.lower_bound, result.elapsed_s))
    return _verify_outcome(network, prop, result, context.settings.check_time_limit(job.timeout_s))


def inspect(context: "JobContext") -> Outcome:
    """Load the model with the engine's ONNX front end and describe the graph it built."""
    from core.model import load_network
    started = time.monotonic()
    context.progress(Progress(phase="loading"))
    network = load_network(context.model_bytes())
    graph = network.graph
    layers = Counter(type(node.op).__name__ for node in graph.nodes)
    elapsed = time.monotonic() - started
    context.progress(Progress(phase="done", elapsed_s=elapsed))
    return Outcome(verdict=None, result={"sha256": network.sha256, "input_shape": list(graph.input_shape),
                                         "output_shape": list(graph.output_shape), "nodes": len(graph.nodes),
                                         "layers": dict(layers), "load_s": elapsed})


def train(context: "JobContext") -> Outcome:
    """Train a network with certified training (fine-tuning the job's model when it has
    one) within timeout_s, and add the result to the owner's models. A re-run after a
    lost worker resumes from the job's checkpoint."""
    from app.services.jobs import checkpoint_dir
    from core.training import TrainConfig, train as run_training

    job = context.job
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        overrides = {}
        if job.model_id is not None:
            overrides["init_onnx"] = Path(scratch) / "init.onnx"
            overrides["init_onnx"].write_bytes(context.model_bytes())
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


KINDS: dict[str, Callable[["JobContext"], Outcome]] = {"verify": verify, "inspect": inspect, "train": train}
