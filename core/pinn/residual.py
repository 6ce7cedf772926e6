"""A condition's residual at points (autograd) and over pieces (sound bounds)."""

from __future__ import annotations

import numpy as np

from core.pinn.algebra import BoxAlgebra, PointAlgebra
from core.pinn.derivatives import autograd_derivatives, derivative_bounds
from core.pinn.network import TanhMLP
from core.pinn.pde import X, Condition


def _mirrored(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boxes with x -> -x (used where x is fixed, so the pieces' coordinates still agree)."""
    lo, hi = lower.copy(), upper.copy()
    lo[:, X], hi[:, X] = -upper[:, X], -lower[:, X]
    return lo, hi


def _places(condition: Condition, lower, upper):
    places = [(lower, upper)]
    if condition.mirrors:
        if not np.all(lower[:, X] == upper[:, X]):
            raise ValueError(f"condition {condition.name!r}: mirrored places need a fixed x")
        places.append(_mirrored(lower, upper))
    return places


def residual_bounds(mlp: TanhMLP, condition: Condition, lower: np.ndarray, upper: np.ndarray,
                    linear: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each [B, components]: the condition's residual lies in [lo, hi] on every
    piece [lower[b], upper[b]]."""
    views = [BoxAlgebra(derivative_bounds(mlp, lo, hi, condition.pairs, linear))
             for lo, hi in _places(condition, np.asarray(lower, float), np.asarray(upper, float))]
    parts = condition.formula(views)
    return np.concatenate([p.lo for p in parts], 1), np.concatenate([p.hi for p in parts], 1)


def piece_maxima(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """[B]: the bound on max |residual| over each piece (all components)."""
    return np.maximum(np.abs(lo), np.abs(hi)).max(1)


def residual_values(mlp: TanhMLP, condition: Condition, points: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """[N, components]: the residual at points [N, d], by autograd in float64."""
    out = []
    for start in range(0, len(points), chunk):
        x = np.asarray(points[start:start + chunk], dtype=np.float64)
        views = []
        for lo, _ in _places(condition, x, x):
            u, grad, hess = autograd_derivatives(mlp, lo, condition.pairs)
            views.append(PointAlgebra(lo, u, grad, hess))
        out.append(np.concatenate(condition.formula(views), 1))
    return np.concatenate(out, 0)


def grid(domain: np.ndarray, per_axis: int) -> np.ndarray:
    """[N, d]: a regular grid over `domain` ([d, 2]), one point on fixed coordinates."""
    axes = [np.linspace(lo, hi, per_axis if hi > lo else 1) for lo, hi in domain]
    return np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], 1)
