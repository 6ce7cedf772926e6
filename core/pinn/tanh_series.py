"""tanh and its derivatives as polynomials in t = tanh(z): exact ranges and linear bounds.

d/dz tanh(z) = 1 - t², so every derivative is a polynomial P_k(t), P_{k+1} = P_k'(t)(1 - t²).
As t is increasing in z, the range of the k-th derivative over [l, u] is the range of P_k
over [tanh l, tanh u]: its ends and the roots of P_k' inside. That exact range gives
constant bounds, and bounds the Taylor remainder of linear ones.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import Polynomial

ORDERS = 5  # tanh up to its fourth derivative: linear bounds of tanh'' need tanh'''' ranges


@lru_cache(maxsize=None)
def polynomial(k: int) -> Polynomial:
    """P_k with tanh^(k)(z) = P_k(tanh z)."""
    p = Polynomial([0.0, 1.0])
    for _ in range(k):
        p = p.deriv() * Polynomial([1.0, 0.0, -1.0])
    return p


@lru_cache(maxsize=None)
def critical_points(k: int) -> tuple[float, ...]:
    """The real roots of P_k' in (-1, 1): where tanh^(k) may have an interior extremum."""
    roots = polynomial(k).deriv().roots() if k > 0 else np.array([])
    real = roots[np.abs(roots.imag) < 1e-12].real if roots.size else roots
    return tuple(sorted(float(r) for r in real if -1 < r < 1))


def value(k: int, z: np.ndarray) -> np.ndarray:
    """tanh^(k)(z)."""
    return polynomial(k)(np.tanh(z))


def value_range(k: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of tanh^(k) over [lo, hi], elementwise (exact up to float rounding)."""
    p = polynomial(k)
    tl, tu = np.tanh(lo), np.tanh(hi)
    low, high = np.minimum(p(tl), p(tu)), np.maximum(p(tl), p(tu))
    for c in critical_points(k):
        inside = (tl <= c) & (c <= tu)
        pc = p(c)
        low = np.where(inside, np.minimum(low, pc), low)
        high = np.where(inside, np.maximum(high, pc), high)
    return low, high


def linear_bounds(k: int, lo: np.ndarray, hi: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(slope_low, icpt_low, slope_up, icpt_up) with
    slope_low*z + icpt_low <= tanh^(k)(z) <= slope_up*z + icpt_up on [lo, hi].

    Two candidates, the thinner kept: the tangent at the midpoint m shifted by the Taylor
    remainder f''(ξ)(z - m)²/2 (f'' ranging over [lo, hi], (z - m)² in [0, r²]), and the
    flat lines at the exact range; the one whose two lines lie closer together is kept
    (a slope carries z's dependence on the inputs on, the flat lines lose it).
    """
    m, r = (lo + hi) / 2, (hi - lo) / 2
    slope = value(k + 1, m)
    d2_lo, d2_hi = value_range(k + 2, lo, hi)
    base = value(k, m) - slope * m
    low_icpt = base + np.minimum(d2_lo, 0.0) * r * r / 2
    up_icpt = base + np.maximum(d2_hi, 0.0) * r * r / 2
    f_lo, f_hi = value_range(k, lo, hi)
    flat = (f_hi - f_lo) <= (up_icpt - low_icpt)
    zero = np.zeros_like(slope)
    return (np.where(flat, zero, slope), np.where(flat, f_lo, low_icpt),
            np.where(flat, zero, slope), np.where(flat, f_hi, up_icpt))
