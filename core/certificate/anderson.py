"""Sound float64 leaf bounds from Anderson-relaxation multipliers (docs/certificate.md).

For a chain [Bias|Scale|Permute]* (Linear Relu)+ [Linear] and the spec rows·(C y − d), the
Lagrangian of the Anderson relaxation, minimised in closed form over the boxes of every
x_k and z_k, is a lower bound for ANY nonnegative multipliers (weak duality). The checker
recomputes it from the certificate's α, β0, β1, B ("cut") and P ("mask"), clamped to
their ranges (NaN and ±inf count as 0, P into [0, B]), so forged multipliers can only
loosen it.

Rounding (the conventions of soundness.py): `gamma(n)` bounds the relative error of a
result that went through at most n roundings on any one term's path (a product is one, a
sum of n terms adds n − 1 on each path, in any order, FMA included), with two roundings of
margin. Every computed quantity q̃ below carries an elementwise bound e with |q − q̃| ≤ e,
where q is the exact value from the exact inputs; each bound is built from the computed
magnitudes with nonnegative terms only, so its own rounding is within a relative
gamma(#ops) of it, which the final (1 + 1e-6) factor covers. Underflow (absolute, not
relative) is bounded on its own (`_underflow`). min over a box is 1-Lipschitz in the coefficient:
|min_x f·x − min_x f̃·x| ≤ |f − f̃|·max(|lo|, |hi|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from core.certificate.format import ANDERSON_PARTS
from core.certificate.network import Bias, Chain, Linear, Permute, Relu, Scale, Unsupported
from core.certificate.soundness import TINY, gamma, times
from core.spec.property import Conjunction

PARTS = ANDERSON_PARTS  # the leaf parameters, per ReLU layer name


@dataclass(frozen=True)
class AndersonLayer:
    """One Linear + ReLU: `relu` the ReLU's chain position and `name`; W [n, n_in] (dense or
    scipy sparse, a Permute before it folded into its columns), b [n]; the nonzero entries
    row by row in increasing column order as `cols`/`weights` [n, K] (padding: column 0,
    weight 0); `spread` [n K, n_in] the 0/1 matrix that sums entries onto their columns;
    `b_err` [n] bounds |b − exact| where Bias steps after the Linear were added into b."""

    relu: int
    name: str
    W: object
    b: np.ndarray
    cols: np.ndarray
    weights: np.ndarray
    spread: sparse.csr_array
    b_err: np.ndarray

    @property
    def width(self) -> int:
        return self.cols.shape[1]


@dataclass(frozen=True)
class AndersonForm:
    """The chain as the Anderson relaxation reads it: `first` the chain position of the first
    Linear (its input box is x_0's), `layers`, and `last` the Linear after the last ReLU
    (None when the network ends with the ReLU), its bias's error bound `last_err` like `b_err`."""

    first: int
    layers: tuple[AndersonLayer, ...]
    last: Linear | None
    last_err: np.ndarray | None = None

    @property
    def widths(self) -> dict[str, int]:
        """K per ReLU layer name: the last axis of its `mask`."""
        return {layer.name: layer.width for layer in self.layers}


def anderson_form(chain: Chain) -> AndersonForm:
    """Read `chain` as [Bias|Scale|Permute]* (Linear Bias* Relu)+ [Linear Bias*] (a Permute right
    before a Linear folded into its columns, Biases after it added into its b, as MatMul + Add
    exports have them); raises `Unsupported` naming what does not fit."""
    steps, pos = chain.steps, 0
    while pos < len(steps) and isinstance(steps[pos], (Bias, Scale, Permute)):
        pos += 1
    first, layers, last, last_err = pos, [], None, None
    while pos < len(steps):
        index = None
        if layers:  # a Permute between a ReLU and the next Linear moves its columns
            while pos < len(steps) and isinstance(steps[pos], Permute):
                index = steps[pos].index if index is None else index[steps[pos].index]
                pos += 1
        if pos >= len(steps) or not isinstance(steps[pos], Linear):
            what = "the end" if pos >= len(steps) else type(steps[pos]).__name__
            raise Unsupported(f"the Anderson relaxation needs a Linear at step {pos}, found {what}: "
                              "the chain must be [Bias|Scale|Permute]* (Linear Relu)+ [Linear]")
        W = _fold(steps[pos].W, index)
        b, b_err, after = _biases(steps, pos)
        if after == len(steps) and layers:
            last, last_err = Linear(W, b), b_err
            pos = after
        elif after < len(steps) and isinstance(steps[after], Relu):
            layers.append(_layer(after, steps[after].name, W, b, b_err))
            pos = after + 1
        else:
            raise Unsupported(f"the Linear at step {pos} is followed by "
                              f"{'nothing' if pos + 1 == len(steps) else type(steps[pos + 1]).__name__}: "
                              "the Anderson relaxation needs each Linear but the last to feed a ReLU")
    if not layers:
        raise Unsupported("the network has no ReLU for the Anderson relaxation")
    return AndersonForm(first, tuple(layers), last, last_err)


def _biases(steps: list, pos: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The Linear at `pos` with the Bias steps right after it: (b summed left to right, a bound
    on that sum's rounding: gamma(count) times the sum of magnitudes, the position after)."""
    b, magnitude, after = np.asarray(steps[pos].b, np.float64), np.abs(steps[pos].b), pos + 1
    while after < len(steps) and isinstance(steps[after], Bias):
        b, magnitude, after = b + steps[after].b, magnitude + np.abs(steps[after].b), after + 1
    err = gamma(after - pos - 1) * magnitude * (1 + 1e-6) if after > pos + 1 else np.zeros(len(b))
    return b, err, after


def _fold(W, index: np.ndarray | None):
    """W acting on x[index] as a matrix on x: W'[:, index[c]] = W[:, c] (index a permutation)."""
    if index is None:
        return W
    if len(index) != W.shape[1] or not np.array_equal(np.sort(index), np.arange(W.shape[1])):
        raise Unsupported("a Permute before a Linear that is not a permutation of its input")
    inverse = np.argsort(index)
    return sparse.csr_array(W[:, inverse]) if sparse.issparse(W) else W[:, inverse]


def _layer(relu: int, name: str, W, b: np.ndarray, b_err: np.ndarray) -> AndersonLayer:
    if sparse.issparse(W):
        coo = sparse.coo_array(W)
        order = np.lexsort((coo.col, coo.row))
        r, c, v = coo.row[order], coo.col[order], coo.data[order]
        keep = v != 0
        r, c, v = r[keep], c[keep], v[keep]
    else:
        r, c = np.nonzero(W)  # row-major: columns ascending within a row
        v = W[r, c]
    n, n_in = W.shape
    counts = np.bincount(r, minlength=n)
    K = max(1, int(counts.max(initial=0)))
    slot = np.arange(len(r)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[r]
    cols, weights = np.zeros((n, K), np.int64), np.zeros((n, K))
    cols[r, slot], weights[r, slot] = c, v
    spread = sparse.csr_array((np.ones(len(r)), (r * K + slot, c)), shape=(n * K, n_in))
    return AndersonLayer(relu, name, W, np.asarray(b, np.float64), cols, weights, spread, b_err)


def anderson_given(params: dict[str, np.ndarray], form: AndersonForm) -> np.ndarray:
    """[L] bool: the leaves with at least one Anderson multiplier (all NaN: none given)."""
    given = None
    for layer in form.layers:
        for part in PARTS:
            value = params.get(f"anderson_{part}:{layer.name}")
            if value is not None:
                mine = ~np.isnan(value).reshape(len(value), -1).all(axis=1)
                given = mine if given is None else given | mine
    return np.zeros(len(params["rows"]), bool) if given is None else given


def _clean(value: np.ndarray | None, shape: tuple) -> np.ndarray:
    """A multiplier clamped to >= 0, NaN and ±inf as 0 (absent: zeros)."""
    if value is None:
        return np.zeros(shape)
    return np.maximum(np.nan_to_num(np.asarray(value, np.float64), nan=0.0, posinf=0.0, neginf=0.0), 0.0)


def anderson_lower_bounds(form: AndersonForm, conjunction: Conjunction, boxes: list[tuple[np.ndarray, np.ndarray]],
                          params: dict[str, np.ndarray]) -> np.ndarray:
    """[L] sound lower bounds of each leaf's best row combination rows·(C y − d), from its
    Anderson multipliers ("anderson_<part>:<relu>" [L, k, size], mask [L, k, size, K]);
    −inf for leaves without any. `boxes[i]` bounds the input of chain step i [L, size]
    (ReLU inputs after splits, hulled with the leaf's pre bounds, as `leaf_lower_bounds`
    uses them)."""
    given = anderson_given(params, form)
    out = np.full(len(given), -np.inf)
    if not given.any():
        return out
    sel = np.flatnonzero(given)
    mine = {key: value[sel] for key, value in params.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        value = _lagrangian(form, conjunction, [(lo[sel], hi[sel]) for lo, hi in boxes], mine)
    value = np.where(np.isfinite(value), value, -np.inf)  # overflow proves nothing
    out[sel] = value.max(axis=1)
    return out


def _lagrangian(form: AndersonForm, conjunction: Conjunction, boxes, params) -> np.ndarray:
    """[L, k] rigorous lower bounds of the Lagrangian's minimum (the module docstring)."""
    rows = np.fmax(params["rows"], 0.0)
    C, d = np.asarray(conjunction.C, np.float64), np.asarray(conjunction.d, np.float64)
    m = C.shape[0]
    parts, errs = [], []  # top-level summands (each [L, k]) and their error bounds

    # objective: t = rowsᵀC on y (m roundings per path), constant −rows·d (m)
    t = rows @ C
    e_t = gamma(m) * (rows @ np.abs(C))
    parts.append(rows @ -d)
    errs.append(gamma(m) * (rows @ np.abs(d)))
    if form.last is not None:
        # g = tW: t's error through |W| plus n_out roundings of the product; the same for t·b
        W, b = form.last.W, form.last.b
        n_out = W.shape[0]
        g = times(t, W)
        e_g = gamma(n_out) * times(np.abs(t), form.last.magnitude) + times(e_t, form.last.magnitude)
        parts.append(t @ b)  # b's own error (folded Biases) through |t| + e_t
        errs.append(gamma(n_out) * (np.abs(t) @ np.abs(b)) + e_t @ np.abs(b) + (np.abs(t) + e_t) @ form.last_err)
    else:
        g, e_g = t, e_t

    for index in range(len(form.layers) - 1, -1, -1):
        layer = form.layers[index]
        n, K = layer.cols.shape
        pre_lo, pre_hi = boxes[layer.relu]
        lo, hi = np.maximum(pre_lo, 0.0), np.maximum(pre_hi, 0.0)
        if index == 0:
            in_lo, in_hi = boxes[form.first]
        else:
            before = boxes[form.layers[index - 1].relu]
            in_lo, in_hi = np.maximum(before[0], 0.0), np.maximum(before[1], 0.0)
        shape = g.shape[:2] + (n,)
        a = _clean(params.get(f"anderson_alpha:{layer.name}"), shape)
        b0 = _clean(params.get(f"anderson_beta0:{layer.name}"), shape)
        b1 = _clean(params.get(f"anderson_beta1:{layer.name}"), shape)
        active = pre_lo >= 0
        unstable = ~active & (pre_hi > 0)
        # the Anderson family only counts on unstable neurons (as the engine evaluates it):
        # elsewhere the phase is exact and its cuts add nothing; 0 is a valid multiplier
        B = _clean(params.get(f"anderson_cut:{layer.name}"), shape) * unstable[:, None, :]
        P = np.minimum(_clean(params.get(f"anderson_mask:{layer.name}"), shape + (K,)), B[..., None])
        P = P * (layer.weights != 0)  # padding entries are ignored

        # f on x_k: four additions of exact inputs and g̃ (4 roundings), plus g's own error
        f = (((b0 + b1) + B) - a) + g
        e_f = gamma(4) * (b0 + b1 + B + a + np.abs(g)) + e_g
        # Σ_j min(f lo, f hi) over x_k's box (lo, hi >= 0, so max|x| = hi): one product, n − 1 sums
        term = np.minimum(f * lo[:, None, :], f * hi[:, None, :])
        parts.append(term.sum(axis=2))
        errs.append(gamma(n + 1) * (np.abs(f) @ hi[:, :, None])[..., 0] + (e_f @ hi[:, :, None])[..., 0])

        # Ľ, Û per entry: the ends of x_{k−1}'s box where w x_i is least / greatest
        g_lo, g_hi = in_lo[:, layer.cols], in_hi[:, layer.cols]  # [L, n, K]
        positive = layer.weights >= 0
        low_end, high_end = np.where(positive, g_lo, g_hi), np.where(positive, g_hi, g_lo)
        wP = layer.weights * P  # [L, k, n, K], one rounding each
        # A = Σ_K (w P) Ľ and D = Σ_K (w (B − P)) Û: paths of 2 products (A) or a difference and
        # 2 products (D), then K − 1 sums
        A = np.einsum("lrjt,ljt->lrj", wP, low_end)
        e_A = gamma(K + 2) * np.einsum("lrjt,ljt->lrj", np.abs(wP), np.abs(low_end))
        wR = layer.weights * (B[..., None] - P)  # w (B − P) first: see `_underflow`
        D = np.einsum("lrjt,ljt->lrj", wR, high_end)
        e_D = gamma(K + 2) * np.einsum("lrjt,ljt->lrj", np.abs(wR), np.abs(high_end))
        # z's coefficient: five products/partial sums added (one product + 4 sums per path)
        u0, u1, Bb = b0 * pre_hi[:, None, :], b1 * pre_lo[:, None, :], B * layer.b
        gz = -((((u0 + u1) + A) + D) + Bb)
        e_gz = gamma(5) * (np.abs(u0) + np.abs(u1) + np.abs(A) + np.abs(D) + np.abs(Bb)) + e_A + e_D + B * layer.b_err
        zl = active.astype(np.float64)
        zu = np.maximum(zl, (pre_hi > 0).astype(np.float64))
        zterm = np.minimum(gz * zl[:, None, :], gz * zu[:, None, :])  # z ends are 0 or 1: exact
        parts.append(zterm.sum(axis=2))
        errs.append(gamma(n) * np.abs(zterm).sum(axis=2) + e_gz.sum(axis=2))  # |z| <= 1

        # constant: Σ_j (α − β1) b + β1 l̂ + A_j: a difference, a product, 2 sums, n − 1 sums
        ab = a - b1
        cab, c1 = ab * layer.b, b1 * pre_lo[:, None, :]
        parts.append((cab + c1 + A).sum(axis=2))
        errs.append(gamma(n + 3) * (np.abs(cab) + np.abs(c1) + np.abs(A)).sum(axis=2) + e_A.sum(axis=2)
                    + np.abs(ab) @ layer.b_err)

        # g on x_{k−1}: Wᵀ(α − β1) − Σ_j w P scattered; per path at most a difference, a
        # product, n − 1 sums and the final difference
        flat = wP.reshape(wP.shape[:2] + (n * K,))
        spread = _spread(flat, layer.spread)
        g = times(ab, layer.W) - spread
        magnitude = abs(layer.W) if sparse.issparse(layer.W) else np.abs(layer.W)
        e_g = gamma(n + 2) * (times(np.abs(ab), magnitude) + _spread(np.abs(flat), layer.spread))

    # x_0's box (any signs): Σ_i min(g lo, g hi), one product and n0 − 1 sums per path
    lo0, hi0 = boxes[form.first]
    radius = np.maximum(np.abs(lo0), np.abs(hi0))[:, :, None]
    term = np.minimum(g * lo0[:, None, :], g * hi0[:, None, :])
    parts.append(term.sum(axis=2))
    errs.append(gamma(lo0.shape[1] + 1) * (np.abs(g) @ radius)[..., 0] + (e_g @ radius)[..., 0])

    value = np.sum(parts, axis=0)
    magnitude_sum = np.sum(np.abs(parts), axis=0)
    err = np.sum(errs, axis=0) + gamma(len(parts)) * magnitude_sum
    return value - (err * (1 + 1e-6) + _underflow(form, C, boxes)[:, None] + TINY)


# Half the smallest subnormal spacing: the absolute error of one rounded product that underflows.
ETA = 2.0 ** -1075


def _largest(a) -> float:
    """The largest magnitude in `a`, an array or a scipy sparse array (its stored values)."""
    return float(np.abs(a.data if sparse.issparse(a) else a).max(initial=0))


def _underflow(form: AndersonForm, C: np.ndarray, boxes) -> np.ndarray:
    """[L] a bound on what underflow adds to the error, beyond the relative terms: each
    product that underflows is off by at most ETA, and is then multiplied by at most two more
    factors, each a weight, bias, spec coefficient or box end (never a multiplier: every product
    takes the certificate's multiplier as its first factor, w·P, w·(B − P), rows·C, (α − β1)·W,
    and f·x only meets a box end), so by at most M^2 with M the largest of those magnitudes
    (and 1); counted for every product of the value and of its error bounds (8 per entry)."""
    weights = [a for layer in form.layers for a in (layer.weights, layer.b)]
    weights += [form.last.W, form.last.b] if form.last is not None else []
    largest = max([1.0, float(np.abs(C).max(initial=0))] + [_largest(w) for w in weights])
    box = max(float(np.abs(np.concatenate([lo, hi], axis=1)).max(initial=0)) for lo, hi in
              [boxes[form.first]] + [boxes[layer.relu] for layer in form.layers])
    largest = max(largest, box)
    count = C.size + sum(layer.cols.size * 4 + layer.W.shape[0] * (layer.W.shape[1] + 8) for layer in form.layers)
    if form.last is not None:
        count += form.last.W.size + len(form.last.b)
    count += boxes[form.first][0].shape[1]
    return np.full(len(boxes[form.first][0]), 8 * count * ETA * largest * largest * (1 + 1e-6))


def _spread(entries: np.ndarray, spread: sparse.csr_array) -> np.ndarray:
    """Σ of entries [L, k, n K] onto their columns: [L, k, n_in]."""
    L, k, width = entries.shape
    return (entries.reshape(L * k, width) @ spread).reshape(L, k, spread.shape[1])
