"""One piece's verdict: the verifier on a linear piece, the sign patterns on a binarized one.

A piece is (support, signs); its outcome is "unsat" (every admissible x of the piece is
decoded correctly, with the proof kept), "sat" (a counterexample x, replayed through the
decoder in onnxruntime), or "unknown" / "timeout" with the reason.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from core.compressed_sensing.arrangement import reachable_patterns
from core.compressed_sensing.compose import composed_onnx, piece_property
from core.compressed_sensing.problem import Piece, Problem

# A binarized pattern counts as decoded when every sigma_i * score_i clears this (float64).
SCORE_MARGIN = 1e-9
# Restarts of the verifier's first attack per disjunct: a piece's counterexamples are
# usually found by input splitting, and the attack runs once per piece.
ATTACK_RESTARTS = 8


@dataclass
class PieceOutcome:
    """A piece's verdict, its proof (certificate zip for linear pieces, pattern proof JSON
    for binarized ones), the counterexample x [n] if any, and figures."""

    label: str
    verdict: str
    time_s: float
    proof: bytes | None = None
    counterexample: list[float] | None = None
    message: str = ""
    figures: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"piece": self.label, "verdict": self.verdict, "time_s": round(self.time_s, 4),
                "message": self.message, **self.figures,
                **({"counterexample": self.counterexample} if self.counterexample is not None else {})}


def replay(decoder: bytes, problem: Problem, x: np.ndarray) -> tuple[bool, np.ndarray]:
    """(whether onnxruntime decodes x's measurements to the wrong support, its scores [n])."""
    from core.counterexample import run_network

    scores = run_network(decoder, problem.measure(x[None])[0].astype(np.float32)).reshape(-1)
    return bool(np.any((scores > 0) != (x != 0))), scores.astype(np.float64)


def full_vector(problem: Problem, piece: Piece, magnitudes: np.ndarray) -> np.ndarray:
    x = np.zeros(problem.n)
    x[list(piece.support)] = np.asarray(piece.signs) * np.clip(magnitudes, problem.low, problem.high)
    return x


def linear_piece(decoder: bytes, problem: Problem, piece: Piece, timeout_s: float,
                 check_time_limit_s: float | None = None) -> PieceOutcome:
    """The verifier (input splitting over the k magnitudes) on decoder(M t), its unsat
    backed by a checked certificate."""
    from core.model import load_network
    from core.result import Verdict
    from core.verifier import VerifyConfig, verify
    from core.verifier.certify import certified_result

    started = time.monotonic()
    network = load_network(composed_onnx(decoder, problem, piece))
    prop = piece_property(problem, piece)
    config = VerifyConfig(timeout_s=timeout_s, device="cpu", threads=1, branching="input",
                          attack_restarts=ATTACK_RESTARTS)
    result, certified = certified_result(network, prop, verify(network, prop, config), check_time_limit_s)
    figures = {"domains": result.domains_visited}
    if result.verdict is Verdict.SAT:
        x = full_vector(problem, piece, result.counterexample.x)
        wrong, scores = replay(decoder, problem, x)
        message = "replayed: onnxruntime decodes a wrong support" if wrong else \
            "found on the composed network; its replay through decoder(A x) decodes correctly"
        return PieceOutcome(piece.label, "sat" if wrong else "unknown", time.monotonic() - started, None,
                            x.tolist(), message, {**figures, "scores": scores.tolist()})
    proof = certified.data if certified is not None and result.verdict is Verdict.UNSAT else None
    return PieceOutcome(piece.label, result.verdict.value, time.monotonic() - started, proof, None,
                        result.message, figures)


def pattern_scores(decoder: bytes, patterns: np.ndarray) -> np.ndarray:
    """The decoder's scores [P, n] at sign patterns [P, m], in float64 by the engine's graph."""
    import torch

    from core.model import load_network

    graph = load_network(decoder).graph
    with torch.no_grad():
        return graph.forward(torch.as_tensor(patterns, dtype=torch.float64)).reshape(len(patterns), -1).numpy()


def binarized_piece(decoder: bytes, problem: Problem, piece: Piece) -> PieceOutcome:
    """Every reachable sign pattern of the piece decoded, in float64, with a margin."""
    started = time.monotonic()
    found = reachable_patterns(problem.piece_matrix(piece), problem.low, problem.high)
    keys = list(found.reached)
    scores = pattern_scores(decoder, np.asarray(keys, dtype=np.float64))
    sigma = np.where(np.isin(np.arange(problem.n), piece.support), 1.0, -1.0)
    worst = (scores * sigma).min(axis=1)
    figures = {"patterns": len(keys), "lps": found.lps, "margin": float(worst.min())}
    bad = np.flatnonzero(worst <= SCORE_MARGIN)
    if bad.size:
        for i in bad.tolist():
            x = full_vector(problem, piece, found.reached[keys[i]])
            if tuple(problem.measure(x[None])[0].astype(int)) == keys[i]:
                wrong, got = replay(decoder, problem, x)
                if wrong:
                    return PieceOutcome(piece.label, "sat", time.monotonic() - started, None, x.tolist(),
                                        f"pattern {i} of {len(keys)}: onnxruntime decodes a wrong support",
                                        {**figures, "scores": got.tolist()})
        return PieceOutcome(piece.label, "unknown", time.monotonic() - started, None, None,
                            f"{bad.size} pattern(s) not decoded with margin {SCORE_MARGIN:g}, none replayed "
                            "to a wrong support (boundary cells or float32 rounding)", figures)
    proof = json.dumps({"patterns": found.to_dict(), "scores": scores.tolist()}).encode()
    return PieceOutcome(piece.label, "unsat", time.monotonic() - started, proof, None, "", figures)


def piece_outcome(decoder: bytes, problem: Problem, piece: Piece, timeout_s: float,
                  check_time_limit_s: float | None = None) -> PieceOutcome:
    """The piece's outcome, with the CPU seconds it took (`cpu_s`: on a shared machine the
    figure that does not grow with other processes' load)."""
    cpu = time.process_time()
    if problem.binarized:
        outcome = binarized_piece(decoder, problem, piece)
    else:
        outcome = linear_piece(decoder, problem, piece, timeout_s, check_time_limit_s)
    outcome.figures["cpu_s"] = round(time.process_time() - cpu, 4)
    return outcome
