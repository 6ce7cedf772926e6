"""One PDE formula, two meanings: values at points (autograd's derivatives), or sound
enclosures over pieces (the derivative bounds). A residual is written once against
`Algebra` and evaluated by `PointAlgebra` for the empirical maximum and by `BoxAlgebra`
for the certified one, so the two cannot disagree about the equation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.pinn.derivatives import DerivativeBounds
from core.pinn.enclosure import Enclosure, product, square


@dataclass(frozen=True)
class Smooth:
    """A known scalar function of one quantity (an initial condition's profile): f, f', and
    `curvature(lo, hi)`, an upper bound of |f''| over [lo, hi]."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    curvature: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def lines(self, lo: np.ndarray, hi: np.ndarray):
        """Tangent at the midpoint, shifted by the largest Taylor remainder M r²/2."""
        m, r = (lo + hi) / 2, (hi - lo) / 2
        slope = self.df(m)
        base = self.f(m) - slope * m
        gap = self.curvature(lo, hi) * r * r / 2
        return slope, base - gap, slope, base + gap


class PointAlgebra:
    """Values at N points: quantities are arrays [N, 1]."""

    def __init__(self, x: np.ndarray, u: np.ndarray, grad, hess):
        self._x, self._u, self._grad, self._hess = x, u, grad, hess

    def x(self, i: int):
        return self._x[:, i:i + 1]

    def u(self, k: int = 0):
        return self._u[:, k:k + 1]

    def d(self, i: int, k: int = 0):
        return self._grad[i][:, k:k + 1]

    def dd(self, i: int, j: int, k: int = 0):
        return self._hess[(min(i, j), max(i, j))][:, k:k + 1]

    @staticmethod
    def mul(a, b):
        return a * b

    @staticmethod
    def sq(a):
        return a * a

    @staticmethod
    def scale(a, c: float):
        return c * a

    @staticmethod
    def apply(fn: Smooth, a):
        return fn.f(a)


class BoxAlgebra:
    """Enclosures over B pieces: quantities are `Enclosure`s of one row."""

    def __init__(self, bounds: DerivativeBounds):
        self._b = bounds

    def x(self, i: int) -> Enclosure:
        b = self._b
        w = np.zeros(b.center.shape + (1,)).transpose(0, 2, 1)  # [B, 1, d]
        w[:, 0, i] = b.radius[:, i]
        return Enclosure.exact(w, b.center[:, i:i + 1], b.u.linear)

    def u(self, k: int = 0) -> Enclosure:
        return self._b.u.rows(slice(k, k + 1))

    def d(self, i: int, k: int = 0) -> Enclosure:
        return self._b.grad[i].rows(slice(k, k + 1))

    def dd(self, i: int, j: int, k: int = 0) -> Enclosure:
        return self._b.hess[(min(i, j), max(i, j))].rows(slice(k, k + 1))

    mul = staticmethod(product)
    sq = staticmethod(square)

    @staticmethod
    def scale(a: Enclosure, c: float) -> Enclosure:
        return a.scale(c)

    @staticmethod
    def apply(fn: Smooth, a: Enclosure) -> Enclosure:
        return a.relaxed(fn.lines(a.lo, a.hi))
