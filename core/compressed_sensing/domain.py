"""The whole domain: every piece verified, in one process or a pool of `workers`.

Pieces are independent, so they run in a process pool (each process one torch thread)
rather than as Celery subtasks: the service's worker runs one job per process and claims
jobs by id, and a fan-out would need a second task kind, a results table and a join step,
for the same speed-up on one machine as a pool (docs/compressed_sensing.md).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Callable

from core.compressed_sensing.pieces import PieceOutcome, piece_outcome
from core.compressed_sensing.problem import Piece, Problem

# Called after each piece with (pieces done, pieces in all, that piece's outcome); True stops.
DomainProgress = Callable[[int, int, PieceOutcome], bool | None]


@dataclass
class DomainResult:
    """"unsat" when every piece is proven, "sat" with the first counterexample found, else
    "unknown"/"timeout"; per-piece outcomes in piece order (those run), proofs by label."""

    verdict: str
    outcomes: list[PieceOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    pieces: int = 0
    stopped: str = ""  # "cancelled" or "deadline" when the run stopped before the last piece

    @property
    def counterexamples(self) -> list[PieceOutcome]:
        return [o for o in self.outcomes if o.verdict == "sat"]

    def summary(self) -> dict:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.verdict] = counts.get(o.verdict, 0) + 1
        first = self.counterexamples[0].summary() if self.counterexamples else None
        return {"verdict": self.verdict, "pieces": self.pieces, "done": len(self.outcomes), "counts": counts,
                "elapsed_s": round(self.elapsed_s, 3), "cpu_s": round(sum(o.figures.get("cpu_s", 0.0) for o in self.outcomes), 3),
                "first_counterexample": first, "stopped": self.stopped}


def _init() -> None:
    import torch

    torch.set_num_threads(1)


def _run(args: tuple) -> PieceOutcome:
    return piece_outcome(*args)


def verify_domain(decoder: bytes, problem: Problem, workers: int = 1, piece_timeout_s: float = 30.0,
                  progress: DomainProgress | None = None, stop_at_first: bool = True,
                  deadline_s: float | None = None) -> DomainResult:
    """Verify every piece of `problem` for the decoder (ONNX bytes). Stops at the first
    counterexample when `stop_at_first`, when `progress` returns True, or past `deadline_s`."""
    started = time.monotonic()
    pieces: list[Piece] = list(problem.pieces())
    jobs = [(decoder, problem, piece, piece_timeout_s) for piece in pieces]
    result = DomainResult("unsat", pieces=len(pieces))
    by_label: dict[str, PieceOutcome] = {}

    def take(outcomes) -> None:
        for outcome in outcomes:
            by_label[outcome.label] = outcome
            stop = progress is not None and progress(len(by_label), len(pieces), outcome)
            late = deadline_s is not None and time.monotonic() - started > deadline_s
            if stop or late or (stop_at_first and outcome.verdict == "sat"):
                result.stopped = "cancelled" if stop else "deadline" if late else ""
                return

    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init) if workers > 1 else None
    except AssertionError:  # a daemonic process (a Celery prefork child) may not have children
        pool = None
    if pool is None:
        _init()
        take(_run(job) for job in jobs)
    else:
        with pool:
            take(pool.imap_unordered(_run, jobs, chunksize=max(1, len(jobs) // (workers * 32))))
            pool.terminate()
    result.outcomes = [by_label[p.label] for p in pieces if p.label in by_label]
    result.elapsed_s = time.monotonic() - started
    verdicts = {o.verdict for o in result.outcomes}
    if "sat" in verdicts:
        result.verdict = "sat"
    elif len(result.outcomes) < len(pieces):
        result.verdict = "timeout" if result.stopped == "deadline" else "unknown"
    elif verdicts != {"unsat"}:
        result.verdict = "timeout" if "timeout" in verdicts else "unknown"
    return result
