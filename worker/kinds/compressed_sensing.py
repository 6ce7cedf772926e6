"""The compressed-sensing kind: train a decoder and prove it over the whole domain, or
prove the job's model (an uploaded decoder, with its A in the config)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.result import Progress
from worker.kinds.results import jsonable
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext

# Of the job's timeout, the share training and verification may use (the bundle's check
# and the baselines take the rest).
WORK_SHARE = 0.8
# Pieces listed in the result: all of them up to this many, else the ones not proven first.
LISTED = 2000


def _pieces(outcomes: list) -> list[dict]:
    rows = [o.summary() for o in outcomes]
    if len(rows) > LISTED:
        rows = sorted(rows, key=lambda r: r["verdict"] == "unsat")[:LISTED]
    return rows


def counterexample_text(outcome) -> str:
    """A sat piece's evidence as plain text: the piece, then x and onnxruntime's scores,
    one line each (numbers separated by spaces)."""
    numbers = lambda values: " ".join(repr(float(v)) for v in values)  # noqa: E731
    return (f"; compressed-sensing counterexample: {outcome.message}\npiece {outcome.label}\n"
            f"x {numbers(outcome.counterexample)}\nscores {numbers(outcome.figures.get('scores', []))}\n")


def run(context: "JobContext") -> Outcome:
    """Verify (and train, when the job has no model) as the config says, within timeout_s."""
    from core.compressed_sensing.baselines import failure_rates
    from core.compressed_sensing.bundle import check_bundle, write_bundle
    from core.compressed_sensing.compose import DecoderError, check_decoder
    from core.compressed_sensing.config import CSConfig
    from core.compressed_sensing.domain import verify_domain
    from core.compressed_sensing.fit import NotDecodable, fit
    from core.compressed_sensing.problem import Problem

    job = context.job
    started = time.monotonic()
    try:
        config = CSConfig(**job.config)
    except ValidationError as exc:
        return Outcome(verdict="error", status="failed", error=f"invalid config: {exc}")
    problem = Problem.of(config)
    deadline = WORK_SHARE * job.timeout_s

    def piece_progress(done: int, total: int, outcome) -> bool:
        return context.report({"phase": "pieces", "done": done, "total": total, "piece": outcome.label,
                               "verdict": outcome.verdict, "elapsed_s": time.monotonic() - started},
                              milestone=outcome.verdict == "sat" or done == total)  # a sat, and the last

    def train_progress(event: dict) -> bool:
        return context.report(jsonable(event), milestone=event.get("phase") == "verified") or \
            time.monotonic() - started > deadline

    summary: dict = {"mode": "verify" if job.model_id is not None else "train", "pieces": config.pieces,
                     "problem": config.model_dump(include={"n", "m", "k", "low", "high", "measurement", "nonnegative"})}
    if job.model_id is not None:
        import onnx

        decoder = context.model_bytes()
        try:
            check_decoder(onnx.load_from_string(decoder), problem)
        except DecoderError as exc:
            return Outcome(verdict="error", status="failed", error=str(exc))
        context.progress(Progress(phase="pieces"))
        result = verify_domain(decoder, problem, config.workers, config.piece_timeout_s, piece_progress,
                               deadline_s=deadline)
    else:
        try:
            fitted = fit(config, problem, train_progress, piece_progress, deadline_s=deadline)
        except NotDecodable as exc:
            return Outcome(verdict="error", status="failed", error=str(exc))
        decoder, result = fitted.decoder, fitted.verification
        summary["model_id"] = context.register_model(decoder, f"decoder-{job.id}.onnx")
        summary["history"] = jsonable(fitted.history)
    summary.update(result.summary())
    summary["piece_results"] = jsonable(_pieces(result.outcomes))
    artifacts = {}
    if result.verdict == "unsat":
        context.progress(Progress(phase="checking", elapsed_s=time.monotonic() - started))
        bundle = write_bundle(decoder, problem, result)
        reason = check_bundle(decoder, bundle)
        summary["check"] = {"valid": not reason, "reason": reason}
        artifacts["certificate"] = bundle
    elif result.counterexamples:
        first = result.counterexamples[0]
        summary["check"] = {"valid": first.message.startswith("replayed"), "reason": first.message}
        artifacts["counterexample"] = counterexample_text(first).encode()
    verdict = result.verdict if result.verdict != "unsat" or summary["check"]["valid"] else "unknown"
    summary["baselines"] = jsonable(failure_rates(problem, config.baseline_samples, config.seed))
    return Outcome(verdict=verdict, result=summary, artifacts=artifacts)
