"""Greedy input splitting: split the pieces whose certified bound lies furthest above the
empirical maximum (on a grid, and at the centre of every piece made) in four (or, with
`quad=False`, in two along the axis whose halves bound better: half of those evaluations
are thrown away, and four-way splitting measured better for the same time), until the certified maximum is within `target_ratio` of it, the
tolerance is decided, or the time or piece budget runs out.

Pieces are leaves of a bisection tree rooted at the condition's domain: a piece is its
path, one code per bisection (2 * axis + side, side 1 the upper half), so the certificate
can rebuild every box from the domain alone and check that the leaves cover it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.pinn.network import TanhMLP
from core.pinn.pde import Condition
from core.pinn.residual import grid, piece_maxima, residual_bounds, residual_values

Progress = Callable[[dict], bool]


@dataclass(frozen=True)
class SplitOptions:
    """`budget_s` wall-clock seconds, `max_pieces`, the empirical grid's points per axis, and
    the ratio certified/empirical at which splitting stops (1.0: only the budget stops it)."""

    budget_s: float = 60.0
    max_pieces: int = 200_000
    grid: int = 201
    target_ratio: float = 1.0
    tolerance: float | None = None
    linear: bool = True
    max_batch: int = 4096
    quad: bool = True  # split each chosen piece in four (both axes); False: in two, along the better axis


@dataclass
class ConditionResult:
    """One condition certified: the leaves (`paths`, boxes `lower`/`upper` [P, d], per-piece
    bounds `lo`/`hi` [P, components] and `bounds` [P] on max |residual|), the certified and
    empirical maxima, where the empirical one was found, and why splitting stopped."""

    name: str
    domain: np.ndarray
    paths: list[bytes]
    lower: np.ndarray
    upper: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    empirical_max: float
    empirical_point: list[float]
    elapsed_s: float
    stopped: str
    history: list[dict] = field(default_factory=list)
    verdict: str | None = None  # 'holds', 'fails' or 'unknown' against the tolerance given (None: none)

    @property
    def bounds(self) -> np.ndarray:
        return piece_maxima(self.lo, self.hi)

    @property
    def certified_max(self) -> float:
        return float(self.bounds.max())

    @property
    def ratio(self) -> float:
        return self.certified_max / self.empirical_max if self.empirical_max > 0 else float("inf")


def verdict_of(certified: float, empirical: float, tolerance: float | None) -> str | None:
    if tolerance is None:
        return None
    if certified <= tolerance:
        return "holds"
    return "fails" if empirical > tolerance else "unknown"


def bisect(lower: np.ndarray, upper: np.ndarray, axis: np.ndarray):
    """The lower and upper halves of each box along its `axis` (midpoints shared exactly)."""
    rows = np.arange(len(lower))
    mid = (lower[rows, axis] + upper[rows, axis]) / 2
    low_up, high_lo = upper.copy(), lower.copy()
    low_up[rows, axis], high_lo[rows, axis] = mid, mid
    return (lower, low_up), (high_lo, upper)


def _best_halves(mlp, condition, lower, upper, linear):
    """Bisect each box along the axis whose halves have the smaller worse bound (both axes are
    tried where both have width: pieces grow long along the axis the residual is smooth in).
    Returns (axis [K], lower, upper, lo, hi) with the K lower halves first, then the K upper."""
    axes = [a for a in range(lower.shape[1]) if np.all(upper[:, a] > lower[:, a])]
    tried = []
    for a in axes:
        (l0, u0), (l1, u1) = bisect(lower, upper, np.full(len(lower), a))
        box_lo, box_hi = np.concatenate([l0, l1]), np.concatenate([u0, u1])
        r_lo, r_hi = residual_bounds(mlp, condition, box_lo, box_hi, linear)
        worse = piece_maxima(r_lo, r_hi).reshape(2, -1).max(0)
        tried.append((worse, box_lo, box_hi, r_lo, r_hi))
    pick = np.argmin(np.stack([t[0] for t in tried]), 0) if len(tried) > 1 else np.zeros(len(lower), int)
    rows = np.concatenate([pick, pick])
    stacked = [np.stack([t[k] for t in tried]) for k in range(1, 5)]
    index = np.arange(2 * len(lower))
    box_lo, box_hi, r_lo, r_hi = (x[rows, index] for x in stacked)
    return np.array(axes)[pick], box_lo, box_hi, r_lo, r_hi


def certify_condition(mlp: TanhMLP, condition: Condition, options: SplitOptions = SplitOptions(),
                      progress: Progress | None = None) -> ConditionResult:
    """Greedy splitting of `condition`'s domain; see the module docstring."""
    started = time.monotonic()
    domain = condition.domain
    points = grid(domain, options.grid)
    values = np.abs(residual_values(mlp, condition, points)).max(1)
    worst = int(values.argmax())
    empirical, point = float(values[worst]), points[worst].tolist()
    lower, upper, paths = domain[None, :, 0].copy(), domain[None, :, 1].copy(), [b""]
    lo, hi = residual_bounds(mlp, condition, lower, upper, options.linear)
    history: list[dict] = []
    stopped = "budget"
    while True:
        bounds = piece_maxima(lo, hi)
        certified = float(bounds.max())
        elapsed = time.monotonic() - started
        event = {"phase": "splitting", "condition": condition.name, "pieces": len(paths),
                 "certified_max": certified, "empirical_max": empirical, "elapsed_s": elapsed}
        history.append(event)
        decided = verdict_of(certified, empirical, options.tolerance) in ("holds", "fails")
        if progress is not None and progress(event):
            stopped = "cancelled"
            break
        if decided:
            stopped = "tolerance"
            break
        if certified <= options.target_ratio * empirical:
            stopped = "ratio"
            break
        if elapsed >= options.budget_s or len(paths) >= options.max_pieces:
            stopped = "budget" if elapsed >= options.budget_s else "pieces"
            break
        # the worst tier only: pieces whose bound is in the upper half of the gap to the empirical maximum
        goal = max(options.target_ratio * empirical, options.tolerance or 0.0)
        threshold = max(goal, empirical + 0.5 * (certified - empirical))
        above = np.flatnonzero(bounds >= threshold)
        room = (options.max_pieces - len(paths)) // (3 if options.quad else 1)  # a split adds 3 pieces (or 1)
        if room < 1:
            stopped = "pieces"
            break
        take = min(len(above), options.max_batch, room)
        chosen = above[np.argsort(-bounds[above])[:max(take, 1)]]
        if options.quad and np.all(domain[:, 1] > domain[:, 0]):
            (l0, u0), (l1, u1) = bisect(lower[chosen], upper[chosen], np.zeros(len(chosen), int))
            quarters = [bisect(a, b, np.ones(len(chosen), int)) for a, b in ((l0, u0), (l1, u1))]
            new_lower = np.concatenate([q[s][0] for q in quarters for s in (0, 1)])
            new_upper = np.concatenate([q[s][1] for q in quarters for s in (0, 1)])
            new_lo, new_hi = residual_bounds(mlp, condition, new_lower, new_upper, options.linear)
            suffixes = [bytes([st, 2 + sx]) for st in (0, 1) for sx in (0, 1)]
        else:
            axis, new_lower, new_upper, new_lo, new_hi = _best_halves(mlp, condition, lower[chosen],
                                                                      upper[chosen], options.linear)
            suffixes = None
        # the new pieces' centres join the grid: where the bounds are worst, the grid may miss the peak
        centres = (new_lower + new_upper) / 2
        at_centres = np.abs(residual_values(mlp, condition, centres)).max(1)
        if at_centres.max() > empirical:
            empirical, point = float(at_centres.max()), centres[int(at_centres.argmax())].tolist()
        keep = np.setdiff1d(np.arange(len(paths)), chosen)
        if suffixes is None:
            new_paths = [paths[i] + bytes([2 * a + side]) for side in (0, 1) for i, a in zip(chosen, axis)]
        else:
            new_paths = [paths[i] + suffix for suffix in suffixes for i in chosen]
        paths = [paths[i] for i in keep] + new_paths
        lower, upper = np.concatenate([lower[keep], new_lower]), np.concatenate([upper[keep], new_upper])
        lo, hi = np.concatenate([lo[keep], new_lo]), np.concatenate([hi[keep], new_hi])
    result = ConditionResult(condition.name, domain, paths, lower, upper, lo, hi, empirical, point,
                             time.monotonic() - started, stopped, history)
    result.verdict = verdict_of(result.certified_max, empirical, options.tolerance)
    return result
