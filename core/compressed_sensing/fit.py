"""Train a decoder, verify it over the whole domain, and train again on what it got wrong.

Verification finds the pieces a decoder fails on and a counterexample in each; those x
(and jittered copies within their piece) join every later epoch's samples, and training
goes on, until every piece is proven or the rounds run out. Binarized problems train on
every reachable sign pattern from the start (the patterns the verifier will check).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.compressed_sensing.arrangement import reachable_patterns
from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.domain import DomainProgress, DomainResult, verify_domain
from core.compressed_sensing.problem import Problem
from core.compressed_sensing.train import LabelledPatterns, export_decoder, train_decoder

JITTER = 32           # jittered copies of each counterexample added to training
JITTER_WIDTH = 0.05   # ... within this share of the magnitude range


@dataclass
class Fitted:
    """The last decoder (ONNX bytes), its whole-domain verification, and the history."""

    decoder: bytes
    verification: DomainResult
    history: list[dict] = field(default_factory=list)
    rounds: int = 0


class NotDecodable(ValueError):
    """Two pieces with different supports reach one sign pattern: no decoder is correct."""


def all_patterns(problem: Problem) -> LabelledPatterns:
    """Every reachable sign pattern of every piece, with the sigma of its piece; NotDecodable
    when a pattern is reached (at a point of an open cell, not only on a boundary) from two
    different supports."""
    ys, sigmas, owner = [], [], {}
    for piece in problem.pieces():
        M = problem.piece_matrix(piece)
        found = reachable_patterns(M, problem.low, problem.high)
        sigma = np.where(np.isin(np.arange(problem.n), piece.support), 1.0, -1.0)
        for pattern, witness in found.reached.items():
            strict = bool(np.all(np.asarray(pattern) * (M @ witness) > 0))
            other = owner.get(pattern)
            if strict and other is not None and other[0].support != piece.support:
                raise NotDecodable(f"sign pattern {''.join('+' if s > 0 else '-' for s in pattern)} is measured "
                                   f"from x = {other[1].tolist()} and x = {_x(problem, piece, witness).tolist()}, "
                                   "whose supports differ: no decoder can be correct (more measurements, or a "
                                   "narrower magnitude range)")
            if strict:
                owner.setdefault(pattern, (piece, _x(problem, piece, witness)))
        ys += list(found.reached)
        sigmas += [sigma] * len(found.reached)
    return LabelledPatterns(np.asarray(ys, dtype=np.float64), np.asarray(sigmas))


def _x(problem: Problem, piece, magnitudes: np.ndarray) -> np.ndarray:
    x = np.zeros(problem.n)
    x[list(piece.support)] = np.asarray(piece.signs) * magnitudes
    return np.round(x, 6)


def jittered(problem: Problem, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` [n] and JITTER copies with its magnitudes moved a little, within the range."""
    copies = np.repeat(x[None], JITTER + 1, axis=0)
    on = x != 0
    noise = rng.uniform(-1, 1, (JITTER, int(on.sum()))) * JITTER_WIDTH * (problem.high - problem.low)
    copies[1:, on] = np.sign(x[on]) * np.clip(np.abs(x[on]) + noise, problem.low, problem.high)
    return copies


def fit(config: CSConfig, problem: Problem, progress: Callable[[dict], bool | None] | None = None,
        piece_progress: DomainProgress | None = None, deadline_s: float | None = None) -> Fitted:
    """Train, verify every piece, retrain on the counterexamples; at most `config.rounds` rounds."""
    rounds = config.rounds
    started = time.monotonic()
    rng = np.random.default_rng(config.seed)
    patterns = all_patterns(problem) if problem.binarized else None
    model, history = train_decoder(config, problem, patterns, progress)
    extra = np.zeros((0, problem.n))
    for round_ in range(1, rounds + 1):
        decoder = export_decoder(model, problem, config.seed)
        left = None if deadline_s is None else max(1.0, deadline_s - (time.monotonic() - started))
        last = round_ == rounds
        result = verify_domain(decoder, problem, config.workers, config.piece_timeout_s, piece_progress,
                               stop_at_first=last, deadline_s=left)
        event = {"phase": "verified", "round": round_, **result.summary()}
        history.append(event)
        if progress is not None and progress(event):
            break
        if result.verdict == "unsat" or last or result.stopped or not result.counterexamples:
            break
        found = np.asarray([o.counterexample for o in result.counterexamples])
        extra = np.concatenate([extra] + [jittered(problem, x, rng) for x in found])
        model, more = train_decoder(config, problem, patterns, progress, model=model, extra=extra,
                                    epochs=max(1, config.epochs // 2))
        history += more
    return Fitted(decoder, result, history, round_)
