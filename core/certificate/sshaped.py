"""Sound linear bounds of Sigmoid and Tanh over [l, u], trusting no slope.

Both are S-shaped: increasing, convex for x <= 0 and concave for x >= 0, with f' even. For
ANY slope a, the lines a*x + lb <= f(x) <= a*x + ub hold on [l, u] when lb is the minimum of
h(x) = f(x) - a*x there and ub its maximum; so a slope (the verifier's, or the checker's own
choice) only decides how tight the lines are, never whether they hold. The checker computes
lb rigorously:

- on the concave part [max(l, 0), u], h is concave: its minimum is at an end (l or u, or 0,
  which lies in the convex part below);
- on the convex part [l, c], c = min(u, 0), h is convex, so h(x) >= h(p) + h'(p)(x - p) for
  any p there; p is the critical point f'(p) = a in closed form (`Sigmoid`, `Tanh` in
  network.py) clipped to [l, c], where h'(p) is 0 up to rounding, or h'(p) >= 0 at p = l, or
  h'(p) <= 0 at p = c: the bound is the minimum up to rounding, and a bound whatever
  rounding did to p.

ub is minus the same bound for g(y) = -f(-y) (S-shaped too) with slope a over [-u, -l].
Every evaluation of h is widened by f's rounding allowance (`FN_ERR`, soundness.py).

The slopes the checker uses by default are the verifier's tangent/secant choice, re-derived
here from its description (core/model/ops/sigmoid.py), so that the checker reproduces the
verifier's bounds: a certificate's `alpha/<name>` for these layers is the same parameter
in [0, 1] (the tangent point's position; NaN: the default).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from core.certificate.network import SShaped
from core.certificate.soundness import FN_ERR, TINY, U, down, up

# The verifier's choices (core/model/ops/sigmoid.py): below this width both lines are flat,
# and the tangent through (l, f(l)) is found by this many bisection steps.
FLAT_WIDTH = 1e-6
BISECTION_STEPS = 40


def s_lines(step: SShaped, lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lw, lb, uw, ub) with lw*x + lb <= f(x) <= uw*x + ub for x in [lo, hi] (arrays that
    broadcast; `alpha` adds its own shape, e.g. [L, k, n] against boxes [L, 1, n]), with the
    verifier's slopes for tangent-point parameter `alpha`."""
    return lines_with_slopes(step, *slopes(step, lo, hi, alpha), lo, hi)


def lines_with_slopes(step: SShaped, lw: np.ndarray, uw: np.ndarray, lo: np.ndarray, hi: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lw, lb, uw, ub): any slopes, clamped to [0, step.peak] (steeper or falling lines are
    never tighter), with the intercepts that make the lines hold on [lo, hi]."""
    lw, uw = np.clip(lw, 0.0, step.peak), np.clip(uw, 0.0, step.peak)
    lb = lowest(step.f, step, lw, lo, hi)
    ub = -lowest(lambda y: -step.f(-y), step, uw, -hi, -lo)
    return lw, lb, uw, ub


def lowest(f, step: SShaped, a: np.ndarray, l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A rigorous lower bound of min over [l, u] of f(x) - a*x, for f S-shaped with f' = step.df
    and a in [0, step.peak]."""
    def h(x):  # h(x) and its rounding allowance (f within FN_ERR, the product and difference within U each)
        fx, ax = f(x), a * x
        return down(fx - ax - 2 * FN_ERR * (np.abs(fx) + np.abs(ax)) - TINY)

    c = np.minimum(u, 0.0)  # the convex part is [l, c] where l < 0
    with np.errstate(divide="ignore"):  # a = 0: the critical points are at -inf (clipped to l)
        p = np.clip(-step.stretch * np.arctanh(np.sqrt(np.clip(1.0 - a / step.peak, 0.0, 1.0))), l, c)
    slope = step.df(p) - a  # h'(p), within `e`
    e = 4 * FN_ERR * (step.df(p) + a) + TINY
    # on [l, c]: h'(p)(x - p) >= -h'(p)+ (p - l) - h'(p)- (c - p)
    rise = up(np.maximum(slope + e, 0.0) * up(p - l))
    fall = up(np.maximum(e - slope, 0.0) * up(c - p))
    tangent = down(h(p) - up((rise + fall) * (1 + 4 * U)))
    ends = np.minimum(h(l), h(u))
    return np.where(l < 0, np.minimum(ends, tangent), ends)


def slopes(step: SShaped, lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) slopes of the verifier's relaxation with tangent-point parameter `alpha`
    (clamped to [0, 1]; NaN or None: 0 where [lo, hi] crosses 0, else 0.5)."""
    default = np.where((lo < 0) & (hi > 0), 0.0, 0.5)
    a = default if alpha is None else np.where(np.isnan(alpha), default, np.clip(alpha, 0.0, 1.0))
    upper = _upper_slope(step, False, lo, hi, a)
    lower = _upper_slope(step, True, -hi, -lo, a)
    flat = hi - lo <= FLAT_WIDTH
    return np.where(flat, 0.0, lower), np.where(flat, 0.0, upper)


def _upper_slope(step: SShaped, reflect: bool, l: np.ndarray, u: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The slope of the verifier's upper line over [l, u] of f, or with `reflect` of
    g(y) = -f(-y) (S-shaped too, with g' = f'): the secant where the function is convex
    there; where it is concave, the tangent at l + a(u - l); where [l, u] crosses 0, the
    tangent at d + a(u - d), d the smallest point of [0, u] whose tangent passes above
    (l, f(l)), or the secant when even the tangent at u passes below it."""
    start, use_tangent, secant = _box_part(step, reflect, l, u)
    return np.where(use_tangent, step.df(start + a * (u - start)), secant)


MEMO_ELEMENTS = 1 << 16  # boxes up to this size have their box part memoised
MEMO_ENTRIES = 64
_memo: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_memo_lock = threading.Lock()


def _box_part(step: SShaped, reflect: bool, l: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What `_upper_slope` needs of the box alone, (start, use_tangent, secant); memoised for
    small boxes: a region's root boxes are relaxed again for every later layer's bounds and
    every disjunct's final bound, with other tangent points but the same bisection."""
    if l.size > MEMO_ELEMENTS:
        return _box_part_of(step, reflect, l, u)
    digest = hashlib.sha256(np.ascontiguousarray(l).tobytes() + np.ascontiguousarray(u).tobytes()).digest()
    key = (type(step), reflect, l.shape, u.shape, digest)
    with _memo_lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    value = _box_part_of(step, reflect, l, u)
    with _memo_lock:
        _memo[key] = value
        while len(_memo) > MEMO_ENTRIES:
            _memo.popitem(last=False)
    return value


def _box_part_of(step: SShaped, reflect: bool, l: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = (lambda y: -step.f(-y)) if reflect else step.f
    fl = f(l)

    def gap(d):  # how far the tangent at d passes above (l, f(l)) (f(l) computed once)
        return f(d) + step.df(d) * (l - d) - fl

    crossing = (l < 0) & (u > 0)
    below, above = np.zeros_like(u), np.maximum(u, 0.0)
    for _ in range(BISECTION_STEPS):
        mid = (below + above) / 2
        ok = gap(mid) >= 0
        above, below = np.where(ok, mid, above), np.where(ok, below, mid)
    start = np.where(crossing, above, l)
    secant = (f(u) - fl) / np.maximum(u - l, FLAT_WIDTH)
    return start, (l >= 0) | (crossing & (gap(u) >= 0)), secant
