"""Small random tanh MLPs for the PINN tests."""

from __future__ import annotations

import numpy as np

from core.pinn.network import TanhMLP


def random_mlp(seed: int, widths=(2, 6, 6, 1), gain: float = 1.0) -> TanhMLP:
    """A tanh MLP with Xavier-like weights scaled by `gain` and small biases."""
    rng = np.random.default_rng(seed)
    return TanhMLP(tuple((gain * rng.normal(size=(o, i)) * np.sqrt(2.0 / (i + o)), 0.3 * rng.normal(size=o))
                         for i, o in zip(widths[:-1], widths[1:])))


def points_in(lower: np.ndarray, upper: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """[B, n, d]: the boxes' corners and centre, then uniform points."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(lower.shape[0], n, lower.shape[1]))
    u[:, 0], u[:, 1], u[:, 2] = 0.0, 1.0, 0.5
    return lower[:, None, :] + u * (upper - lower)[:, None, :]
