"""Runs of affine steps composed into one, for backward passes, with a rigorous error bound.

tllverifybench's networks put two or three Linear steps between ReLUs (2 -> 16 -> 256 ->
512); a backward pass through them one at a time multiplies every row by each matrix in
turn, where one 512 x 2 product would do. The composed matrix is computed in float64,
so it is not the exact product: each run also carries an elementwise bound on the
difference, `|(W x + b) - (exact run)(x)| <= E |x| + e`, which `soundness.backward` adds
to its error term. Forward (interval) passes keep going step by step, since their boxes
must be the verifier's.

The bound, for one more Linear `S x + c` after a run computed as `W`, `b` (exact `T`,
`t`, with `|W - T| <= E`, `|b - t| <= e`): `fl(S W) = S W + D`, `|D| <= gamma_k |S| |W|`
(k = the inner length), so `|fl(S W) - S T| <= gamma_k |S||W| + |S| E`; likewise for
the offset `fl(S b + c)`. A Bias adds one rounding, `|fl(b + c) - (b + c)| <= 2u |fl(b + c)|`.
E and e are sums of nonnegative products, computed in float64 to within a relative
`gamma_k`; the final factor `1 + 1e-6` covers that for any run of fewer than 10^5 steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from core.certificate.network import Bias, Linear, Step
from core.certificate.soundness import TINY, U, gamma


@dataclass(frozen=True)
class Composed:
    """Steps `first`..`last` as `W x + b`, within `E |x| + e` of the exact steps, elementwise
    (E None: W is exact, the file's matrix, and `magnitude` the step's own cached |W|).

    `error(r)` is what a backward pass multiplies `|lam|` by, with the input's radius r:
    `G r + g` for `G = gamma_n |W| + E`, `g = gamma_n |b| + e` (n = the output length, the
    sums' length), covering both this error and the rounding of `lam @ W` and `lam · b`.
    G is not stored: for a single Linear it would be a scaled copy of |W|."""

    first: int
    last: int
    W: np.ndarray
    b: np.ndarray
    magnitude: np.ndarray
    E: np.ndarray | None
    e: np.ndarray

    def error(self, r: np.ndarray) -> np.ndarray:
        """G r + g for radii r [L, in]: [L, out]."""
        n = gamma(self.W.shape[0])
        out = n * (r @ self.magnitude.T) + (n * np.abs(self.b) + self.e)
        return out if self.E is None else out + r @ self.E.T


def composed_runs(steps: list[Step]) -> dict[int, Composed]:
    """Runs of Linear and Bias steps as single steps, by their last step's index: a whole run
    where its product is smaller than the matrices it replaces, otherwise each Linear with
    the Biases after it (ONNX's MatMul + Add: one step instead of two)."""
    runs, i = {}, 0
    while i < len(steps):
        if not isinstance(steps[i], Linear):  # a run starts at a Linear (a Bias before it stays apart)
            i += 1
            continue
        j = i + 1
        while j < len(steps) and isinstance(steps[j], (Linear, Bias)):
            j += 1
        matrices = [s.W for s in steps[i:j] if isinstance(s, Linear)]
        stored = sum(W.nnz if sparse.issparse(W) else W.size for W in matrices)
        if matrices[-1].shape[0] * matrices[0].shape[1] < stored:
            runs[j - 1] = compose(steps[i:j], i)
        else:
            heads = [k for k in range(i, j) if isinstance(steps[k], Linear)] + [j]
            runs |= {end - 1: compose(steps[start:end], start) for start, end in zip(heads, heads[1:])}
        i = j
    return runs


def compose(run: list[Step], first: int) -> Composed:
    """One Linear for a run of Linear and Bias steps starting with a Linear, and its error bound
    (E None while the run has one Linear: its matrix is the file's, exact; it may be sparse)."""
    head = run[0]
    if not isinstance(head, Linear):
        raise ValueError("a composed run starts with a Linear step")
    W, b = head.W, head.b.copy()
    E, e = None, np.zeros_like(b)
    for step in run[1:]:
        if isinstance(step, Bias):
            b = b + step.b
            e = e + 2 * U * np.abs(b)
            continue
        S = step.magnitude
        k = step.W.shape[1]
        rounding = gamma(k) * (S @ abs(W))
        E = _dense(rounding if E is None else S @ E + rounding)
        e = S @ e + gamma(k + 1) * (S @ np.abs(b) + np.abs(step.b))
        W, b = _dense(step.W @ W), step.W @ b + step.b
    e = e * (1 + 1e-6) + TINY
    last = first + len(run) - 1
    if E is None:
        return Composed(first, last, W, b, head.magnitude, None, e)
    return Composed(first, last, W, b, np.abs(W), E * (1 + 1e-6) + TINY, e)


def _dense(M):
    """A composed product as an array: a run is composed only where its product is smaller
    than the matrices it replaces, so a sparse factor's product is stored dense."""
    return M.toarray() if sparse.issparse(M) else M
