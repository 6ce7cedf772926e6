"""Sound float64 bounds over a `Chain`, for a batch of L leaves at once.

Intervals (IBP) go forward; linear bounds (CROWN) go backward. Every floating-point
operation is covered: interval ends move outward by one ulp (`np.nextafter`) after a
single rounding (but for a sum or difference that is exactly 0: `up_sum`), and every
backward product or sum adds a rigorous error term to `err`
(Higham's gamma_n bound: a computed sum of n products is within gamma_n * sum |terms|
of the exact one, for any summation order). A bound is the computed value minus that
error, so the result is a true bound whatever the parameters were.

A backward pass proves, for every x in the leaf's domain,
    sum(lam * t) >= const + sum(mu * x) - err  for the tensor t it starts from,
using at each activation a lower and an upper line valid on [l, u] (ReLU: alpha*z and the
chord; Sigmoid/Tanh: `sshaped.py`).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from core.certificate.network import Bias, Linear, Permute, Relu, Scale, SShaped, Step
from core.certificate.sparse_rows import SparseRows

U = 2.0 ** -53
TINY = 1e-290  # absolute slack for underflow in products of very small numbers
# The verifier's tie band (docs/certificate.md): the adaptive slope is 1 only where
# u + l > TIE (u - l), and CROWN skips only neurons with l >= TIE (u - l) or u <= -TIE (u - l),
# so that rounding differences near exact ties do not change the choice.
TIE = 1e-9
# how near to proving a sign a box may come for β to multiply that sign's constraint (split_side)
SIGN_BAND = 1e-6
# Relative error allowed for NumPy's exp, tanh and cosh (and 1/(1 + e), s·s', 1/c^2 built on
# them). They are not correctly rounded and NumPy documents no bound; the libm and SIMD
# kernels it uses are accurate to a few ulps, so 64 ulps (with TINY absolute) is generous.
FN_ERR = 64 * U


def gamma(n: int) -> float:
    """A rigorous bound on the relative error of an n-term float64 dot product (with margin)."""
    k = (n + 2) * U
    return k / (1 - k)


def down(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, -np.inf)


def up(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, np.inf)


def up_sum(x: np.ndarray) -> np.ndarray:
    """`up` of a computed sum or difference, leaving exact zeros: with gradual underflow a
    rounded sum is 0 only when the exact sum is, and the subnormal `up(0)` would make every
    product it enters hundreds of times slower (x86 microcode assists)."""
    return np.where(x == 0, 0.0, up(x))


def down_sum(x: np.ndarray) -> np.ndarray:
    """`down` of a computed sum or difference, leaving exact zeros (see `up_sum`)."""
    return np.where(x == 0, 0.0, down(x))


def forward(step: Step, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sound box [L, out] around the step's output for inputs in lo..hi [L, in]."""
    if isinstance(step, Linear):
        # x = mid + t with |t| <= rad (rad rounded up, so it holds whatever mid's rounding):
        # W x + b is within |W| rad of W mid + b
        mid = 0.5 * lo + 0.5 * hi
        rad = np.maximum(up_sum(hi - mid), up_sum(mid - lo))
        centre, spread = mid @ step.W.T + step.b, rad @ step.magnitude.T
        reach = (np.abs(mid) + rad) @ step.magnitude.T + np.abs(step.b)
        err = gamma(2 * step.W.shape[1] + 1) * reach * (1 + 1e-6) + TINY
        return centre - spread - err, centre + spread + err
    if isinstance(step, Bias):
        return down_sum(lo + step.b), up_sum(hi + step.b)
    if isinstance(step, Scale):
        a, b = (lo / step.s, hi / step.s) if step.divide else (lo * step.s, hi * step.s)
        return down(down(np.minimum(a, b))), up(up(np.maximum(a, b)))
    if isinstance(step, Permute):
        return lo[:, step.index], hi[:, step.index]
    if isinstance(step, Relu):
        return np.maximum(lo, 0.0), np.maximum(hi, 0.0)
    return s_image(step, lo, hi)


def s_image(step: SShaped, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(lo)..f(hi) widened by f's rounding allowance (f increasing), within f's range."""
    flo, fhi = step.f(lo), step.f(hi)
    return (np.maximum(down(flo - FN_ERR * np.abs(flo) - TINY), step.span[0]),
            np.minimum(up(fhi + FN_ERR * np.abs(fhi) + TINY), step.span[1]))


def relu_lines(lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower slope, upper slope, upper offset) with alpha*z <= relu(z) <= uw*z + ub on [lo, hi]
    (`backward` takes them as (lw, 0, uw, ub)).

    alpha: NaN entries take the adaptive slope (1 where hi > -lo beyond the tie band); others
    are clamped to [0, 1].
    The chord's offset is computed from both ends and rounded up, so the upper line is
    valid for the slope actually stored, whatever rounding did to it.
    """
    active, inactive = lo >= 0, hi <= 0
    unstable = ~(active | inactive)
    adaptive = (hi + lo > TIE * (hi - lo)).astype(np.float64)
    slope = adaptive if alpha is None else np.where(np.isnan(alpha), adaptive, np.clip(alpha, 0.0, 1.0))
    stable_w = active.astype(np.float64)
    lw = np.where(unstable, slope, stable_w)
    width = np.where(unstable, hi - lo, 1.0)
    uw = np.where(unstable, np.clip(hi / width, 0.0, 1.0), stable_w)
    ends = np.maximum(-uw * lo, hi - uw * hi)
    ub = np.where(unstable, up(ends + 4 * U * (np.abs(uw * lo) + np.abs(hi) + np.abs(uw * hi))) + TINY, 0.0)
    return lw, uw, ub


def split_side(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, e): the constraint s·z >= s·e that β multiplies, true over the whole box [lo, hi].

    s = +1 where the box proves z >= 0 up to `SIGN_BAND` of its width, -1 where it proves
    z <= 0 likewise, 0 elsewhere (β unused); e = min(lo, 0) or max(hi, 0), the box's end on
    that side capped at 0. A verifier's box rounded to nearest can prove a sign that the
    checker's outward-rounded box misses by an ulp (a lower bound of 0.0 against -8e-14):
    the band keeps its β, and e charges exactly what the missing ulps can cost (β·|e|)."""
    band = SIGN_BAND * (hi - lo)
    s = np.where(lo >= -band, 1.0, np.where(hi <= band, -1.0, 0.0))
    e = np.where(s > 0, np.minimum(lo, 0.0), np.where(s < 0, np.maximum(hi, 0.0), 0.0))
    return s, e


class UnitRows:
    """lam whose rows are signed unit vectors: row r of domain l is `signs[l, r]` (±1) times
    the unit vector of `neurons[l, r]`, over `size` neurons (single-neuron bounds)."""

    def __init__(self, neurons: np.ndarray, signs: np.ndarray, size: int):
        self.neurons, self.signs, self.shape = neurons, signs, neurons.shape + (size,)

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape)
        np.put_along_axis(out, self.neurons[..., None], self.signs[..., None], axis=2)
        return out


def backward(steps: list[Step], boxes: list[tuple[np.ndarray, np.ndarray]], lam: np.ndarray | UnitRows, start: int,
             relax: dict[int, tuple], beta: dict[int, np.ndarray], runs: dict | None = None) -> np.ndarray:
    """Sound lower bounds [L, R] of sum(lam * t) over the leaves' domains, t the input of step
    `start` (len(steps) for the output); lam [L, R, size].

    `boxes[i]` bounds the input of step i (for ReLUs: after the splits); `relax[i]` the lines
    (lw, lb, uw, ub) of the activation at step i, lw*z + lb <= f(z) <= uw*z + ub (each may carry a
    row dimension; a ReLU's lb is 0 and its ub >= 0); `beta[i]` [L, R, size] clamped
    multipliers of the split constraints at ReLU i (absent: zero). `runs[i]`: the run of
    affine steps ending at step i as one (`compose.Composed`), taken in a single product
    with its composition error added. `lam` as `UnitRows` through such a run first reads
    rows of its matrix (exact: a product with ±1) instead of multiplying by it.
    """
    given = lam  # the caller's array is never written to; the ones made here may be
    if isinstance(lam, UnitRows) and (runs or {}).get(start - 1) is None:
        lam = lam.dense()  # no affine run right before `start`: multiply as usual
    const = np.zeros(lam.shape[:2])
    err = np.zeros(lam.shape[:2])
    const_mag = np.zeros(lam.shape[:2])
    magnitude = None  # |lam|, where the step before computed it
    i = start
    while i > 0:
        i -= 1
        run = (runs or {}).get(i)
        if run is not None:
            i = run.first
        step, (lo, hi) = steps[i], boxes[i]
        radius = np.maximum(np.abs(lo), np.abs(hi))[:, None, :]
        size = None  # |lam| after this step, where it computes it
        plain_relu = run is None and isinstance(step, Relu) and beta.get(i) is None
        if isinstance(lam, np.ndarray) and plain_relu:
            lam = SparseRows.of(lam, *lam.shape[:2])  # sparse from here where few coefficients are nonzero
        elif isinstance(lam, SparseRows) and not (plain_relu or run is not None):
            lam = lam.dense()  # the steps without a sparse form run dense
        if isinstance(lam, SparseRows):
            lam, added = _sparse_step(lam, run, relax.get(i), radius, err)
        elif isinstance(lam, UnitRows) and run is not None:
            rows, signs = lam.neurons, lam.signs
            added = signs * run.b[rows]
            err += np.take_along_axis(run.error(radius[:, 0, :]), rows, axis=1)  # |lam| · (G r + g)
            lam = (SparseRows.signed_rows(run.W, rows, signs) if sparse.issparse(run.W)
                   else signs[..., None] * run.W[rows])
        elif run is not None:
            added = dot(lam, run.b)
            # the products' rounding and |composed - exact| <= E |x| + e, as |lam| · (G r + g)
            err += dot(np.abs(lam) if magnitude is None else magnitude, run.error(radius[:, 0, :])[:, None, :])
            lam = times(lam, run.W)
        elif isinstance(step, Linear):
            added = dot(lam, step.b)
            # sum_in (|lam| @ |W|)_in * radius_in, regrouped as |lam| · (|W| @ radius): no second big product
            scale = radius[:, 0, :] @ step.magnitude.T + np.abs(step.b)
            err += gamma(step.W.shape[0]) * dot(np.abs(lam) if magnitude is None else magnitude, scale[:, None, :])
            lam = times(lam, step.W)
        elif isinstance(step, Bias):
            added = dot(lam, step.b)
            err += gamma(len(step.b)) * dot(np.abs(lam), np.abs(step.b))
        elif isinstance(step, Scale):
            added = 0.0
            lam = lam / step.s if step.divide else lam * step.s
            err += 2 * U * dot(np.abs(lam), radius)
        elif isinstance(step, Permute):
            added = 0.0
            moved = np.zeros(lam.shape[:2] + (len(step.index),))
            moved[:, :, step.index] = lam
            lam = moved
        else:
            lw, lb, uw, ub = relax[i]
            b = beta.get(i)
            negative = np.minimum(lam, 0.0)
            if isinstance(step, Relu):
                added = dot(negative, ub)  # ub >= 0, so |terms| sums to |added|
                err += gamma(lam.shape[2]) * np.abs(added)
            else:
                offset = np.where(lam > 0.0, lb, ub)
                added = dot(lam, offset)
                err += gamma(lam.shape[2]) * dot(np.abs(lam), np.abs(offset))
            # max(lam, 0) times the lower line's slope plus min(lam, 0) times the upper's: one
            # rounding each, and one of the two is exactly 0, so the sum adds none (in place,
            # in buffers already touched: allocating fresh [L, R, n] arrays was a fifth of
            # tllverifybench's check)
            scaled = np.maximum(lam, 0.0, out=None if lam is given else lam)
            scaled *= lw
            negative *= uw
            scaled += negative
            size = np.abs(scaled, out=negative)
            err += 3 * U * dot(size, radius)
            if b is not None:
                s, e = split_side(lo, hi)
                lam = scaled - b * s[:, None, :]
                # + β·s·e: every term <= 0, so their magnitudes sum to |the sum|
                shift = dot(b, (s * e)[:, None, :])
                added = added + shift
                err += 3 * U * dot(np.abs(b), radius) + gamma(lam.shape[2]) * np.abs(shift) + 2 * U * np.abs(added)
                size = None
            else:
                lam = scaled
        magnitude = size
        const = const + added
        const_mag = const_mag + np.abs(added)
    lo, hi = boxes[0]
    radius = np.maximum(np.abs(lo), np.abs(hi))[:, None, :]
    if isinstance(lam, SparseRows):
        v = lam.matrix.data
        value = const + lam.row_sums(np.where(v > 0.0, v * lam.gather(lo[:, None, :]), v * lam.gather(hi[:, None, :])))
        err += gamma(lam.shape[2] + 1) * lam.dot_abs(radius)
    else:
        value = const + dot(np.maximum(lam, 0.0), lo[:, None, :]) + dot(np.minimum(lam, 0.0), hi[:, None, :])
        err += gamma(lam.shape[2] + 1) * dot(np.abs(lam), radius)
    err += gamma(start + 2) * (const_mag + np.abs(value))
    return value - (err * (1 + 1e-6) + TINY * (start + 1))


def _sparse_step(lam: SparseRows, run, lines: tuple | None, radius: np.ndarray,
                 err: np.ndarray) -> tuple[SparseRows | np.ndarray, np.ndarray]:
    """`backward`'s step for sparse coefficients: an affine run, or a ReLU without split
    multipliers; the same products as the dense steps, on the nonzeros only (sparse_rows.py).
    Adds the step's error terms to `err`; returns the new coefficients and the step's
    constant."""
    if run is not None:
        added = lam.dot(run.b)
        err += lam.dot_abs(run.error(radius[:, 0, :])[:, None, :])  # as the dense run: |lam| · (G r + g)
        return lam.times(run.W), added
    lw, _, uw, ub = lines
    v = lam.matrix.data
    negative = np.minimum(v, 0.0)
    added = lam.row_sums(negative * lam.gather(ub))  # ub >= 0: every term <= 0
    err += gamma(lam.shape[2]) * np.abs(added)
    scaled = np.maximum(v, 0.0) * lam.gather(lw) + negative * lam.gather(uw)  # one of the two is exactly 0
    err += 3 * U * lam.row_sums(np.abs(scaled) * lam.gather(radius))
    return lam.with_data(scaled), added


def times(lam: np.ndarray, W) -> np.ndarray:
    """lam [..., out] @ W [out, in], W an array or a scipy sparse array (2-D products only)."""
    if sparse.issparse(W):
        return (lam.reshape(-1, lam.shape[-1]) @ W).reshape(lam.shape[:-1] + (W.shape[1],))
    return lam @ W


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over the last axis of a * b, broadcasting the others (without the product's temporary;
    as a matrix product where the shapes allow, which is faster: the error terms hold for any
    summation order)."""
    if b.ndim == 1:
        return a @ b
    if b.ndim == a.ndim >= 2 and b.shape[-2] == 1:
        return (a @ np.swapaxes(b, -1, -2))[..., 0]
    return np.einsum("...n,...n->...", a, b)
