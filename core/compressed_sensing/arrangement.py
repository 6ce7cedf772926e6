"""Which sign patterns sign(M t) a piece reaches, with a proof for the ones it cannot.

Over a piece, y = sign(M t) for t in the box [low, high]^k; each row of M is a hyperplane
through the origin and the reachable patterns are the cells of their arrangement that
meet the box. With sign(0) = +1 every reachable pattern p has a point with p_r M_r t >= 0
for all r (a closed cell), so enumerating closed cells over-approximates the reachable
set, which is the sound side. The search fixes rows one at a time: a prefix is kept with a
witness point, or refuted by a Farkas certificate, weights lam >= 0 (sum 1) with
max over the box of sum_r lam_r p_r M_r t / |M_r| < 0, which no point of the prefix's
closed cell can satisfy. `check_patterns` re-derives the refutations and the tree's
completeness in float64 without solving anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

FEASIBLE_TOL = 1e-9  # an LP optimum above -this keeps the prefix (the sound side)
REFUTE_TOL = 1e-12   # a refutation must show a box maximum below -this


@dataclass
class Patterns:
    """Reachable full patterns (tuple of ±1 -> witness t) and refuted prefixes (-> lam)."""

    reached: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)
    refuted: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)
    lps: int = 0

    def to_dict(self) -> dict:
        return {"reached": [[list(p), w.tolist()] for p, w in self.reached.items()],
                "refuted": [[list(p), lam.tolist()] for p, lam in self.refuted.items()]}

    @classmethod
    def from_dict(cls, data: dict) -> "Patterns":
        return cls({tuple(p): np.asarray(w, dtype=np.float64) for p, w in data["reached"]},
                   {tuple(p): np.asarray(lam, dtype=np.float64) for p, lam in data["refuted"]})


def _rows(M: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(norms > 0, norms, 1.0)


def box_max(w: np.ndarray, low: float, high: float) -> float:
    """max of w . t over t in [low, high]^k."""
    return float(np.sum(np.maximum(w * low, w * high)))


def _solve(G: np.ndarray, prefix: tuple[int, ...], low: float, high: float) -> tuple[float, np.ndarray, np.ndarray]:
    """max z s.t. p_r G_r t >= z (r < len(prefix)), t in the box: (z*, t*, lam)."""
    r, k = len(prefix), G.shape[1]
    signed = G[:r] * np.asarray(prefix, dtype=np.float64)[:, None]
    A_ub = np.hstack([-signed, np.ones((r, 1))])
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    bounds = [(low, high)] * k + [(None, 1.0)]
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(r), bounds=bounds, method="highs")
    lam = np.clip(-np.asarray(res.ineqlin.marginals), 0.0, None)
    return -float(res.fun), np.asarray(res.x[:k]), lam / max(lam.sum(), 1e-300)


def refutes(G: np.ndarray, prefix: tuple[int, ...], lam: np.ndarray, low: float, high: float) -> bool:
    """Whether lam proves that no t in the box has p_r G_r t >= 0 for every r of the prefix."""
    if lam.shape != (len(prefix),) or np.any(lam < 0) or not lam.sum() > 0:
        return False
    w = (lam * np.asarray(prefix, dtype=np.float64)) @ G[:len(prefix)]
    return box_max(w, low, high) < -REFUTE_TOL * max(1.0, float(np.abs(w).sum()) * high)


def reachable_patterns(M: np.ndarray, low: float, high: float) -> Patterns:
    """Every closed cell of sign(M t) over [low, high]^k, rows fixed in order."""
    G = _rows(np.asarray(M, dtype=np.float64))
    out = Patterns()
    start = np.full(G.shape[1], (low + high) / 2)
    stack: list[tuple[tuple[int, ...], np.ndarray]] = [((), start)]
    while stack:
        prefix, witness = stack.pop()
        r = len(prefix)
        if r == G.shape[0]:
            out.reached[prefix] = witness
            continue
        easy = 1 if G[r] @ witness >= 0 else -1
        stack.append((prefix + (easy,), witness))
        other = prefix + (-easy,)
        single = np.zeros(r + 1)
        single[-1] = 1.0
        if refutes(G, other, single, low, high):
            out.refuted[other] = single
            continue
        z, point, lam = _solve(G, other, low, high)
        out.lps += 1
        if z < -FEASIBLE_TOL and refutes(G, other, lam, low, high):
            out.refuted[other] = lam
        else:
            stack.append((other, point))
    return out


def check_patterns(M: np.ndarray, low: float, high: float, patterns: Patterns) -> str:
    """"" when the refutations hold and, with the reached patterns, cover every pattern;
    else what is wrong."""
    G = _rows(np.asarray(M, dtype=np.float64))
    stack: list[tuple[int, ...]] = [()]
    while stack:
        prefix = stack.pop()
        if prefix in patterns.refuted:
            if not refutes(G, prefix, patterns.refuted[prefix], low, high):
                return f"the refutation of prefix {prefix} does not hold"
        elif len(prefix) == G.shape[0]:
            if prefix not in patterns.reached:
                return f"pattern {prefix} is neither checked nor refuted"
        else:
            stack += [prefix + (1,), prefix + (-1,)]
    return ""
