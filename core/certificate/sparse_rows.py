"""Backward-pass coefficients held sparse, for networks whose rows touch few neurons.

On tllverifybench's min/max banks 99% of a backward pass's coefficients [L, R, n] are
exactly 0 past the first ReLU (docs/results/certificate.md), yet the dense pass spends
its time on every element. `SparseRows` keeps them as a CSR matrix [L·R, n] and does the
same operations on the nonzeros only: each product is the dense pass's own (one rounding
per term), a zero term adds exactly 0 to every sum, and the sums, taken in another order,
stay under the same gamma_n terms (they hold for any order and any number of terms up to
n). So the bounds are as sound as the dense pass's and equal up to summation order.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

# A pass goes sparse where at most this share of its coefficients is nonzero: below it the
# sparse steps' per-element overhead (index arrays, gathers) is repaid.
SPARSE_DENSITY = 0.05
# ... and where rows are at least this long: on narrower ones (ACAS Xu's 50) the test alone
# cost 3% of a check.
SPARSE_MIN_WIDTH = 256


class SparseRows:
    """lam [L, R, n] as a CSR matrix [L·R, n]; row l·R + r is domain l's row r."""

    def __init__(self, matrix: sparse.csr_array, leaves: int, rows: int):
        self.matrix, self.shape = matrix, (leaves, rows, matrix.shape[1])
        counts = np.diff(matrix.indptr)
        self._row = np.repeat(np.arange(leaves * rows), counts)  # each nonzero's row of the matrix
        self._place = np.divmod(self._row, rows) + (matrix.indices,)  # ... as (leaf, row, neuron), for gathers

    @classmethod
    def of(cls, lam: np.ndarray | sparse.sparray, leaves: int, rows: int) -> "SparseRows | np.ndarray":
        """`lam` ([L, R, n], or a matrix [L·R, n] of a product) as SparseRows where it is sparse
        enough, else as a dense [L, R, n] array (the very object given, when it is one)."""
        if sparse.issparse(lam):
            if lam.nnz <= SPARSE_DENSITY * lam.shape[0] * lam.shape[1]:
                matrix = sparse.csr_array(lam)
                matrix.eliminate_zeros()
                return cls(matrix, leaves, rows)
            lam = lam.toarray()
        if lam.ndim != 3:
            lam = lam.reshape(leaves, rows, -1)
        if lam.shape[2] < SPARSE_MIN_WIDTH or np.count_nonzero(lam) > SPARSE_DENSITY * lam.size:
            return lam
        return cls(sparse.csr_array(lam.reshape(leaves * rows, -1)), leaves, rows)

    @classmethod
    def signed_rows(cls, W: sparse.sparray, neurons: np.ndarray, signs: np.ndarray) -> "SparseRows | np.ndarray":
        """signs[l, r] · W[neurons[l, r]] ([L, R, in]) straight from sparse W's rows (exact: a
        product with ±1), without the dense array in between."""
        picked = sparse.csr_array(W[neurons.reshape(-1)])
        picked.data = picked.data * np.repeat(signs.reshape(-1), np.diff(picked.indptr))
        return cls.of(picked, *neurons.shape)

    def dense(self) -> np.ndarray:
        return self.matrix.toarray().reshape(self.shape)

    def with_data(self, data: np.ndarray) -> "SparseRows":
        """The same nonzero pattern with other values (zeros among them dropped; on copies of the
        index arrays, which `eliminate_zeros` rewrites in place)."""
        pattern = (self.matrix.indices.copy(), self.matrix.indptr.copy())
        matrix = sparse.csr_array((data, *pattern), shape=self.matrix.shape)
        matrix.eliminate_zeros()
        return SparseRows(matrix, *self.shape[:2])

    def gather(self, values: np.ndarray) -> np.ndarray:
        """`values` (broadcastable to [L, R, n]) at each nonzero's place."""
        return np.broadcast_to(values, self.shape)[self._place]

    def row_sums(self, terms: np.ndarray) -> np.ndarray:
        """Per row, the sum of `terms` (one per nonzero): [L, R]."""
        return np.bincount(self._row, weights=terms, minlength=self.shape[0] * self.shape[1]).reshape(self.shape[:2])

    def dot(self, values: np.ndarray) -> np.ndarray:
        """sum over n of lam * values, `values` broadcastable to [L, R, n]: [L, R]."""
        if np.ndim(values) == 1:
            return (self.matrix @ values).reshape(self.shape[:2])
        return self.row_sums(self.matrix.data * self.gather(values))

    def dot_abs(self, values: np.ndarray) -> np.ndarray:
        """sum over n of |lam| * values, as `dot` (for error terms)."""
        return self.row_sums(np.abs(self.matrix.data) * self.gather(values))

    def times(self, W) -> "SparseRows | np.ndarray":
        """lam @ W, W [n, m] an array or a scipy sparse array: sparse where the product is."""
        return SparseRows.of(self.matrix @ W, *self.shape[:2])
