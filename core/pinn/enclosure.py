"""Enclosures: a batch of quantities bounded by linear functions of the inputs and by intervals.

Each piece of the input domain is a box x = center + radius * e with e in [-1, 1]^d. An
`Enclosure` of n quantities over B pieces holds lower and upper linear functions of e
(weights [B, n, d], offsets [B, n]) and an interval [lo, hi] ([B, n]) that both hold over
the piece. The interval is the tighter of the lines' extremes and plain interval arithmetic
on the operands' intervals, and is what the next relaxation is built on. Arithmetic is
float64 without directed rounding (the certificate checker adds the rounding allowance).
With `linear=False` every result keeps flat lines only: plain interval arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Enclosure:
    lw: np.ndarray  # [B, n, d]
    lb: np.ndarray  # [B, n]
    uw: np.ndarray
    ub: np.ndarray
    lo: np.ndarray  # [B, n]
    hi: np.ndarray
    linear: bool = True

    @staticmethod
    def of_lines(lw, lb, uw, ub, lo=None, hi=None, linear: bool = True) -> "Enclosure":
        """The enclosure of these lines, its interval their extremes (met with [lo, hi] if given)."""
        low = lb - np.abs(lw).sum(-1)
        high = ub + np.abs(uw).sum(-1)
        if lo is not None:
            low, high = np.maximum(low, lo), np.minimum(high, hi)
        if not linear:
            zero = np.zeros_like(lw)
            return Enclosure(zero, low, zero, high, low, high, False)
        return Enclosure(lw, lb, uw, ub, low, high, True)

    @staticmethod
    def exact(w: np.ndarray, b: np.ndarray, linear: bool = True) -> "Enclosure":
        """Quantities that are exactly w·e + b."""
        return Enclosure.of_lines(w, b, w, b, linear=linear)

    def rows(self, index) -> "Enclosure":
        """The quantities `index` (an index into the n axis)."""
        return Enclosure(self.lw[:, index], self.lb[:, index], self.uw[:, index], self.ub[:, index],
                         self.lo[:, index], self.hi[:, index], self.linear)

    def affine(self, weight: np.ndarray, bias: np.ndarray | None = None) -> "Enclosure":
        """weight @ q + bias, weight [m, n]: with the lines' mean and half-gap,
        W+ l + W- u = W mid - |W| gap and W+ u + W- l = W mid + |W| gap."""
        mag = np.abs(weight)
        mid_w, gap_w = _matmul(weight, (self.lw + self.uw) / 2), _matmul(mag, (self.uw - self.lw) / 2)
        mid_b, gap_b = ((self.lb + self.ub) / 2) @ weight.T, ((self.ub - self.lb) / 2) @ mag.T
        mid_i, gap_i = ((self.lo + self.hi) / 2) @ weight.T, ((self.hi - self.lo) / 2) @ mag.T
        if bias is not None:
            mid_b, mid_i = mid_b + bias, mid_i + bias
        return Enclosure.of_lines(mid_w - gap_w, mid_b - gap_b, mid_w + gap_w, mid_b + gap_b,
                                  mid_i - gap_i, mid_i + gap_i, self.linear)

    def scaled_lines(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lines (lw, lb, uw, ub) below and above k * q, for coefficients k [B, n]."""
        pos, neg = k >= 0, k < 0
        kw = k[..., None]
        lw = kw * np.where(pos[..., None], self.lw, self.uw)
        uw = kw * np.where(neg[..., None], self.lw, self.uw)
        lb = k * np.where(pos, self.lb, self.ub)
        ub = k * np.where(neg, self.lb, self.ub)
        return lw, lb, uw, ub

    def relaxed(self, lines, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> "Enclosure":
        """f(q) given lines a_l*q + c_l <= f(q) <= a_u*q + c_u on [self.lo, self.hi] and
        f's range [lo, hi] there (if known); `lines` is (a_l, c_l, a_u, c_u)."""
        al, cl, au, cu = lines
        lw, lb, _, _ = self.scaled_lines(al)
        _, _, uw, ub = self.scaled_lines(au)
        return Enclosure.of_lines(lw, lb + cl, uw, ub + cu, lo, hi, self.linear)

    def __add__(self, other: "Enclosure | float") -> "Enclosure":
        if not isinstance(other, Enclosure):
            return self.shift(float(other))
        return Enclosure.of_lines(self.lw + other.lw, self.lb + other.lb, self.uw + other.uw, self.ub + other.ub,
                                  self.lo + other.lo, self.hi + other.hi, self.linear)

    def __neg__(self) -> "Enclosure":
        return Enclosure(-self.uw, -self.ub, -self.lw, -self.lb, -self.hi, -self.lo, self.linear)

    def __sub__(self, other: "Enclosure | float") -> "Enclosure":
        return self + (-other)

    __radd__ = __add__

    def __rsub__(self, other: float) -> "Enclosure":
        return (-self) + other

    def scale(self, c: float) -> "Enclosure":
        """c * q for a constant c."""
        lw, lb, uw, ub = self.scaled_lines(np.full_like(self.lo, c))
        low, high = np.minimum(c * self.lo, c * self.hi), np.maximum(c * self.lo, c * self.hi)
        return Enclosure.of_lines(lw, lb, uw, ub, low, high, self.linear)

    def shift(self, c: float) -> "Enclosure":
        return Enclosure(self.lw, self.lb + c, self.uw, self.ub + c, self.lo + c, self.hi + c, self.linear)


def _matmul(weight: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """weight [m, n] times every piece's lines [B, n, d] -> [B, m, d], as one matrix product."""
    b, n, d = lines.shape
    flat = weight @ lines.transpose(1, 0, 2).reshape(n, b * d)
    return flat.reshape(-1, b, d).transpose(1, 0, 2)


def product(p: Enclosure, q: Enclosure) -> Enclosure:
    """p * q: the lines of the Taylor-model product (`_taylor`), the interval by interval
    multiplication. McCormick's planes were measured against it (docs/results/pinn.md): as
    lines they tilt apart and lose the residual's cancellations; as a tightening of the
    interval they changed no bound and cost a third of the time."""
    pl, ph, ql, qh = p.lo, p.hi, q.lo, q.hi
    corners = np.stack([pl * ql, pl * qh, ph * ql, ph * qh])
    lo, hi = corners.min(0), corners.max(0)
    if not p.linear:
        return Enclosure.of_lines(*_flat(lo, hi, p.lw), lo, hi, False)
    tw, tc, t_lo, t_hi = _taylor(p, q)
    return Enclosure.of_lines(tw, tc + t_lo, tw, tc + t_hi, lo, hi)


def square(p: Enclosure) -> Enclosure:
    """p²: the Taylor-model product of p with itself; the interval the square of p's."""
    lo, hi = p.lo, p.hi
    low = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(lo * lo, hi * hi))
    high = np.maximum(lo * lo, hi * hi)
    if not p.linear:
        return Enclosure.of_lines(*_flat(low, high, p.lw), low, high, False)
    tw, tc, t_lo, t_hi = _taylor(p, p)
    return Enclosure.of_lines(tw, tc + t_lo, tw, tc + t_hi, low, high)


def _split(p: Enclosure):
    """p = A·e + a0 + ε with |ε| <= g: the mean line of p's two and the largest half-gap."""
    a, a0 = (p.lw + p.uw) / 2, (p.lb + p.ub) / 2
    g = np.abs(p.uw - p.lw).sum(-1) / 2 + np.abs(p.ub - p.lb) / 2
    return a, a0, g


def _taylor(p: Enclosure, q: Enclosure):
    """pq = a0 b0 + (a0 B + b0 A)·e + R with R in [r_lo, r_hi]: (A·e)(B·e) bounded term by term
    (e_i² in [0, 1], e_i e_j in [-1, 1]), plus the gaps times the other factor's reach.
    Returns (weights, offset, r_lo, r_hi). Same slope on both sides: the residual's terms
    keep cancelling where McCormick's planes tilt apart."""
    a, a0, gp = _split(p)
    b, b0, gq = _split(q)
    w = a0[..., None] * b + b0[..., None] * a
    diag = a * b
    r_lo = np.minimum(diag, 0.0).sum(-1)
    r_hi = np.maximum(diag, 0.0).sum(-1)
    cross = np.abs(a[..., :, None] * b[..., None, :] + a[..., None, :] * b[..., :, None])
    off = (cross.sum((-1, -2)) - np.trace(cross, axis1=-2, axis2=-1)) / 2
    reach_p, reach_q = np.abs(a0) + np.abs(a).sum(-1), np.abs(b0) + np.abs(b).sum(-1)
    err = gp * reach_q + gq * reach_p + gp * gq + off
    return w, a0 * b0, r_lo - err, r_hi + err


def _flat(lo, hi, like):
    zero = np.zeros_like(like)
    return zero, lo, zero, hi
