"""The checker's enclosure arithmetic: the relaxations of `core.pinn.enclosure`, re-derived
with every floating-point error covered, so what it proves holds in real arithmetic.

A quantity over B pieces is bounded by lines in e in [-1, 1]^d and an interval, as in the
engine. Any line slope is sound once its intercept is computed rigorously, so slopes are
plain float64 (the engine's own choices, recomputed) and every intercept absorbs a bound on
the rounding of all the terms it was built from (Higham's gamma_n for sums of n products,
one ulp outward after single operations, `FN_ERR` for tanh, sin, cos). tanh's derivatives
are the integer-coefficient polynomials P_k(tanh z); their ranges over an interval of t come
from the ends and the critical points, each evaluated with its error and the critical
points' own error allowance. Only NumPy: this file shares no code with the engine's bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.certificate.soundness import FN_ERR, TINY, U, down, gamma, up

MAX_ORDER = 5  # P_0 .. P_4


def _poly(k: int) -> np.ndarray:
    """Coefficients (ascending) of P_k with tanh^(k)(z) = P_k(tanh z); integers, exact."""
    p = np.array([0.0, 1.0])
    for _ in range(k):
        dp = np.array([i * p[i] for i in range(1, len(p))])
        p = np.convolve(dp, [1.0, 0.0, -1.0])
    return p


POLYS = [_poly(k) for k in range(MAX_ORDER)]
ROOT_ERR = 1e-13  # a bound on how far each computed critical point is from the true one (checked below)


def _critical(k: int) -> np.ndarray:
    p = POLYS[k]
    if len(p) <= 2:
        return np.array([])
    roots = np.roots(np.array([i * p[i] for i in range(1, len(p))])[::-1])
    roots = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    roots = roots[np.abs(roots) < 1]
    dp = np.array([i * p[i] for i in range(1, len(p))])
    bound = gamma(2 * len(dp)) * np.abs(dp).sum()
    for c in roots:  # P_k' changes sign within ROOT_ERR of c, beyond its evaluation error
        left, right = np.polyval(dp[::-1], c - ROOT_ERR), np.polyval(dp[::-1], c + ROOT_ERR)
        if not (abs(left) > bound and abs(right) > bound and left * right < 0):
            raise AssertionError(f"critical point {c} of P_{k} not isolated")
    return roots


CRITICAL = [_critical(k) for k in range(MAX_ORDER)]


def poly_range(k: int, tl: np.ndarray, th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A rigorous [low, high] of P_k over t in [tl, th] (a sub-interval of [-1, 1])."""
    p = POLYS[k]
    err = gamma(2 * len(p)) * np.abs(p).sum() + TINY
    at_l, at_h = np.polyval(p[::-1], tl), np.polyval(p[::-1], th)
    low, high = np.minimum(at_l, at_h), np.maximum(at_l, at_h)
    slope = np.abs(np.arange(len(p)) * p).sum()  # |P_k'| <= this on [-1, 1]
    for c in CRITICAL[k]:
        inside = (tl - ROOT_ERR <= c) & (c <= th + ROOT_ERR)
        pc = np.polyval(p[::-1], c)
        low = np.where(inside, np.minimum(low, pc - slope * ROOT_ERR), low)
        high = np.where(inside, np.maximum(high, pc + slope * ROOT_ERR), high)
    return down(low - err), up(high + err)


def tanh_range(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A rigorous interval of tanh over [lo, hi], within [-1, 1]."""
    a, b = np.tanh(lo), np.tanh(hi)
    return (np.maximum(down(a - FN_ERR * np.abs(a) - TINY), -1.0), np.minimum(up(b + FN_ERR * np.abs(b) + TINY), 1.0))


def midpoint(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, r): a float m and an r rounded up with |z - m| <= r for every z in [lo, hi]."""
    m = 0.5 * lo + 0.5 * hi
    return m, np.maximum(up(hi - m), up(m - lo))


def tanh_lines(k: int, lo: np.ndarray, hi: np.ndarray):
    """(slope_l, icpt_l, slope_u, icpt_u, range_lo, range_hi) for tanh^(k) over [lo, hi]:
    the engine's choice of lines (midpoint tangent shifted by the Taylor remainder, or flat
    at the range), with rigorous intercepts and range."""
    m, r = midpoint(lo, hi)
    tm = tanh_range(m, m)
    s = np.polyval(POLYS[k + 1][::-1], np.tanh(m))
    gm_lo, gm_hi = poly_range(k, *tm)
    gp_lo, gp_hi = poly_range(k + 1, *tm)
    delta = up(np.maximum(np.maximum(gp_hi - s, s - gp_lo), 0.0))
    t_all = tanh_range(lo, hi)
    d2_lo, d2_hi = poly_range(k + 2, *t_all)
    half_r2 = up(up(r * r) / 2)
    sm, dr = s * m, up(delta * r)
    low_rem, high_rem = np.minimum(d2_lo, 0.0) * half_r2, np.maximum(d2_hi, 0.0) * half_r2
    err_l = gamma(6) * (np.abs(gm_lo) + np.abs(sm) + dr + np.abs(low_rem)) + TINY
    err_u = gamma(6) * (np.abs(gm_hi) + np.abs(sm) + dr + np.abs(high_rem)) + TINY
    icpt_l = down(gm_lo - sm - dr + low_rem - err_l)
    icpt_u = up(gm_hi - sm + dr + high_rem + err_u)
    f_lo, f_hi = poly_range(k, *t_all)
    flat = (f_hi - f_lo) <= (icpt_u - icpt_l)
    zero = np.zeros_like(s)
    return (np.where(flat, zero, s), np.where(flat, f_lo, icpt_l), np.where(flat, zero, s),
            np.where(flat, f_hi, icpt_u), f_lo, f_hi)


@dataclass(frozen=True)
class Box:
    """Rigorous enclosure: lw·e + lb <= q <= uw·e + ub and lo <= q <= hi, in real arithmetic."""

    lw: np.ndarray
    lb: np.ndarray
    uw: np.ndarray
    ub: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def line(self, lower: bool):
        return (self.lw, self.lb) if lower else (self.uw, self.ub)


def _extreme(w, c, lower: bool) -> np.ndarray:
    s = np.abs(w).sum(-1)
    err = gamma(w.shape[-1] + 2) * (np.abs(c) + s) + TINY
    return down(c - s - err) if lower else up(c + s + err)


def make(lw, lb, uw, ub, lo=None, hi=None) -> Box:
    """A Box of rigorous lines, its interval their extremes met with [lo, hi] if given."""
    low, high = _extreme(lw, lb, True), _extreme(uw, ub, False)
    if lo is not None:
        low, high = np.maximum(low, lo), np.minimum(high, hi)
    return Box(lw, lb, uw, ub, low, high)


def combine(terms, const, lower: bool, extra=0.0):
    """A rigorous line below (or above) sum_k coef_k * q_k + const, `terms` = [(coef [B, n], Box)];
    `extra` is a further error allowance the caller knows of."""
    w, c = 0.0, const
    mag_w, mag_c = 0.0, np.abs(const)
    for coef, q in terms:
        pos = coef >= 0
        side_w = np.where(pos[..., None] == lower, q.lw, q.uw)
        side_c = np.where(pos == lower, q.lb, q.ub)
        w = w + coef[..., None] * side_w
        c = c + coef * side_c
        mag_w = mag_w + np.abs(coef[..., None] * side_w)
        mag_c = mag_c + np.abs(coef * side_c)
    err = gamma(2 * len(terms) + 3) * (mag_c + np.sum(mag_w, -1)) + extra + TINY
    w = np.broadcast_to(w, mag_w.shape) if np.ndim(w) else np.zeros_like(terms[0][1].lw)
    return w, (down(c - err) if lower else up(c + err))


def affine(q: Box, W: np.ndarray, b: np.ndarray | None) -> Box:
    """W q + b, W [m, n] and b [m] exact floats (the network's constants)."""
    pos, neg, mag = np.maximum(W, 0.0), np.minimum(W, 0.0), np.abs(W)
    b = np.zeros(W.shape[0]) if b is None else b
    g = gamma(W.shape[1] + 2)
    spread_w = np.einsum("mn,bnd->bmd", mag, np.abs(q.lw) + np.abs(q.uw)).sum(-1)
    spread_c = (np.abs(q.lb) + np.abs(q.ub)) @ mag.T + np.abs(b)
    err = g * (spread_w + spread_c) * (1 + 1e-6) + TINY
    lw = np.einsum("mn,bnd->bmd", pos, q.lw) + np.einsum("mn,bnd->bmd", neg, q.uw)
    uw = np.einsum("mn,bnd->bmd", pos, q.uw) + np.einsum("mn,bnd->bmd", neg, q.lw)
    lb = down(q.lb @ pos.T + q.ub @ neg.T + b - err)
    ub = up(q.ub @ pos.T + q.lb @ neg.T + b + err)
    ierr = g * ((np.abs(q.lo) + np.abs(q.hi)) @ mag.T + np.abs(b)) * (1 + 1e-6) + TINY
    lo = down(q.lo @ pos.T + q.hi @ neg.T + b - ierr)
    hi = up(q.hi @ pos.T + q.lo @ neg.T + b + ierr)
    return make(lw, lb, uw, ub, lo, hi)


def relax(q: Box, lines) -> Box:
    """f(q) from lines (a_l, c_l, a_u, c_u, range_lo, range_hi) valid on [q.lo, q.hi]."""
    al, cl, au, cu, flo, fhi = lines
    lw, lb = combine([(al, q)], cl, True)
    uw, ub = combine([(au, q)], cu, False)
    return make(lw, lb, uw, ub, flo, fhi)


def product(p: Box, q: Box) -> Box:
    """p q: the engine's Taylor-model lines (`taylor`) with rigorous offsets; the interval by
    interval multiplication, each corner rounded outward."""
    pl, ph, ql, qh = p.lo, p.hi, q.lo, q.hi
    low = np.minimum(np.minimum(down(pl * ql), down(pl * qh)), np.minimum(down(ph * ql), down(ph * qh)))
    high = np.maximum(np.maximum(up(pl * ql), up(pl * qh)), np.maximum(up(ph * ql), up(ph * qh)))
    w, c_lo, c_hi = taylor(p, q)
    return make(w, c_lo, w.copy(), c_hi, low, high)


def _mean(p: Box):
    """(A, a0, g): float A, a0 and a rigorous g with |p - A·e - a0| <= g on the piece."""
    a, a0 = 0.5 * p.lw + 0.5 * p.uw, 0.5 * p.lb + 0.5 * p.ub
    d = p.lw.shape[-1]
    above = np.abs(p.uw - a).sum(-1) + (p.ub - a0)  # p - A e - a0 <= (uw - A)·e + ub - a0
    below = np.abs(a - p.lw).sum(-1) + (a0 - p.lb)
    mag = np.abs(p.uw).sum(-1) + np.abs(a).sum(-1) + np.abs(p.lw).sum(-1) + np.abs(p.ub) + np.abs(p.lb) + np.abs(a0)
    g = up(np.maximum(above, below) + gamma(2 * d + 4) * mag + TINY)
    return a, a0, np.maximum(g, 0.0)


def taylor(p: Box, q: Box):
    """(w, c_lo, c_hi): w·e + c_lo <= p q <= w·e + c_hi on the piece, rigorously: with
    p = A·e + a0 + ε (|ε| <= gp) and q alike, pq = a0 b0 + (a0 B + b0 A)·e + (A·e)(B·e)
    + ε_p Q + ε_q P + ε_p ε_q, each term bounded with its rounding."""
    a, a0, gp = _mean(p)
    b, b0, gq = _mean(q)
    w = a0[..., None] * b + b0[..., None] * a
    w_err = (gamma(4) * (np.abs(a0[..., None] * b) + np.abs(b0[..., None] * a))).sum(-1)
    c = a0 * b0
    diag = a * b
    d_lo, d_hi = np.minimum(diag, 0.0).sum(-1), np.maximum(diag, 0.0).sum(-1)
    cross = np.abs(a[..., :, None] * b[..., None, :] + a[..., None, :] * b[..., :, None])
    off = (cross.sum((-1, -2)) - np.trace(cross, axis1=-2, axis2=-1)) / 2
    reach_p = np.abs(a0) + np.abs(a).sum(-1)
    reach_q = np.abs(b0) + np.abs(b).sum(-1)
    rest = gp * reach_q + gq * reach_p + gp * gq + off
    mags = np.abs(c) + np.abs(diag).sum(-1) + off + rest + w_err
    err = gamma(2 * a.shape[-1] + 8) * mags * 2 + w_err + TINY
    return w, down(c + d_lo - rest - err), up(c + d_hi + rest + err)


def square(p: Box) -> Box:
    """p²: the Taylor-model lines of p·p; the interval the square of p's."""
    lo, hi = p.lo, p.hi
    low = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(down(lo * lo), down(hi * hi)))
    high = np.maximum(up(lo * lo), up(hi * hi))
    w, c_lo, c_hi = taylor(p, p)
    return make(w, c_lo, w.copy(), c_hi, low, high)


def add(p: Box, q: Box) -> Box:
    one = np.ones_like(p.lb)
    lw, lb = combine([(one, p), (one, q)], 0.0, True)
    uw, ub = combine([(one, p), (one, q)], 0.0, False)
    return make(lw, lb, uw, ub, down(p.lo + q.lo), up(p.hi + q.hi))


def negate(p: Box) -> Box:
    return Box(-p.uw, -p.ub, -p.lw, -p.lb, -p.hi, -p.lo)


def scale(p: Box, c: float) -> Box:
    k = np.full_like(p.lb, c)
    lw, lb = combine([(k, p)], 0.0, True)
    uw, ub = combine([(k, p)], 0.0, False)
    a, b = c * p.lo, c * p.hi
    return make(lw, lb, uw, ub, down(np.minimum(a, b)), up(np.maximum(a, b)))


def shift(p: Box, c) -> Box:
    one = np.ones_like(p.lb)
    lw, lb = combine([(one, p)], np.full_like(p.lb, c), True)
    uw, ub = combine([(one, p)], np.full_like(p.lb, c), False)
    return make(lw, lb, uw, ub, down(p.lo + c), up(p.hi + c))


def smooth(p: Box, fn) -> Box:
    """fn(p) for a known profile `fn` (f, f', a bound of |f''|): the midpoint tangent shifted by
    the remainder, with allowances for f and f' evaluated in float (64 ulps of their size and
    of the argument's, generous for sin, cos and cosh of a rounded argument)."""
    m, r = midpoint(p.lo, p.hi)
    fm, s = fn.f(m), fn.df(m)
    f_err = 256 * U * (1 + np.abs(fm)) * (1 + np.abs(m)) * 4
    delta = 256 * U * (1 + np.abs(s)) * (1 + np.abs(m)) * 4
    curve = up(fn.curvature(p.lo, p.hi) * (1 + 1e-12)) + TINY
    half_r2 = up(up(r * r) / 2)
    gap = up(delta * r + curve * half_r2 + f_err)
    sm = s * m
    err = gamma(4) * (np.abs(fm) + np.abs(sm) + gap) + TINY
    lines = (s, down(fm - sm - gap - err), s, up(fm - sm + gap + err))
    lw, lb = combine([(lines[0], p)], lines[1], True)
    uw, ub = combine([(lines[2], p)], lines[3], False)
    return make(lw, lb, uw, ub)
