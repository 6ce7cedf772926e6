"""Classical decoders on the same A: OMP and LASSO (ISTA), and the coherence guarantee.

Both are given k and return the k largest entries as the support. On sign measurements
they read y = sign(A x) as if it were linear (the support of the top-k is unaffected by
the lost scale). The coherence mu = max |<a_i, a_j>| over distinct unit columns gives the
classical guarantee: OMP and basis pursuit recover every k-sparse x from A x exactly when
k < (1 + 1/mu) / 2 (Tropp 2004; Donoho & Elad 2003).
"""

from __future__ import annotations

import numpy as np

from core.compressed_sensing.problem import Problem

LASSO_STEPS = 2000
LASSO_LAMBDA = 1e-3  # times max |A^T y|: small, so the support is the signal's, not the penalty's


def coherence(A: np.ndarray) -> float:
    """max |<a_i, a_j>| / (|a_i| |a_j|) over distinct columns."""
    unit = A / np.linalg.norm(A, axis=0, keepdims=True)
    gram = np.abs(unit.T @ unit)
    np.fill_diagonal(gram, 0.0)
    return float(gram.max())


def coherence_guarantee(A: np.ndarray, k: int) -> bool:
    """Whether k < (1 + 1/mu) / 2, the bound under which OMP and basis pursuit provably recover."""
    return k < (1 + 1 / coherence(A)) / 2


def omp(A: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Supports [B, k] chosen by k steps of orthogonal matching pursuit on y [B, m]."""
    out = np.zeros((len(y), k), dtype=int)
    for b, target in enumerate(y):
        residual, chosen = target.copy(), []
        for step in range(k):
            scores = np.abs(A.T @ residual)
            scores[chosen] = -1.0
            chosen.append(int(np.argmax(scores)))
            coef, *_ = np.linalg.lstsq(A[:, chosen], target, rcond=None)
            residual = target - A[:, chosen] @ coef
        out[b] = sorted(chosen)
    return out


def lasso(A: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Supports [B, k]: the k largest entries of the LASSO solution by ISTA on y [B, m]."""
    step = 1.0 / np.linalg.norm(A, 2) ** 2
    lam = LASSO_LAMBDA * np.abs(y @ A).max(axis=1, keepdims=True)
    x = np.zeros((len(y), A.shape[1]))
    for _ in range(LASSO_STEPS):
        z = x - step * (x @ A.T - y) @ A
        x = np.sign(z) * np.maximum(np.abs(z) - step * lam, 0.0)
    return np.sort(np.argsort(-np.abs(x), axis=1)[:, :k], axis=1)


def failure_rates(problem: Problem, samples: int, seed: int = 0) -> dict:
    """Empirical support-recovery failure of OMP and LASSO on `samples` admissible x, the
    coherence and whether its guarantee applies, and one x each fails on (or None)."""
    rng = np.random.default_rng(seed)
    x = problem.sample(samples, rng)
    y = problem.measure(x)
    truth = np.sort(np.argsort(-np.abs(x), axis=1)[:, :problem.k], axis=1)
    out: dict = {"samples": samples, "coherence": coherence(problem.A),
                 "coherence_guarantee": coherence_guarantee(problem.A, problem.k)}
    for name, decoder in (("omp", omp), ("lasso", lasso)):
        wrong = np.any(decoder(problem.A, y, problem.k) != truth, axis=1) if samples else np.zeros(0, bool)
        out[f"{name}_failure"] = float(wrong.mean()) if samples else None
        out[f"{name}_example"] = x[np.argmax(wrong)].tolist() if wrong.any() else None
    return out
