"""The compressed-sensing task as NumPy: admissible x, measurements, pieces, correctness.

x in R^n has exactly k nonzeros, each of magnitude in [low, high] with either sign (or
positive, for nonnegative problems); the
decoder reads y = A x (or sign(A x), sign(0) = +1) and returns n scores; it is correct on
x when {i : score_i > 0} = supp(x). docs/compressed_sensing.md states it in full.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.compressed_sensing.config import CSConfig


@dataclass(frozen=True)
class Piece:
    """The admissible x with support `support` (sorted) and signs `signs` (±1 each):
    x[support] = signs * t for t in [low, high]^k."""

    support: tuple[int, ...]
    signs: tuple[int, ...]

    @property
    def label(self) -> str:
        return ",".join(f"{'+' if s > 0 else '-'}{i}" for i, s in zip(self.support, self.signs))


@dataclass(frozen=True, eq=False)
class Problem:
    """A (m x n, float32 values held as float64), k, magnitude range and measurement kind."""

    A: np.ndarray
    k: int
    low: float
    high: float
    binarized: bool
    nonnegative: bool = False

    @property
    def n(self) -> int:
        return self.A.shape[1]

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @classmethod
    def of(cls, config: CSConfig) -> "Problem":
        if config.matrix is not None:
            A = np.asarray(config.matrix, dtype=np.float64)
        else:
            A = gaussian_matrix(config.m, config.n, config.matrix_seed)
        return cls(A.astype(np.float32).astype(np.float64), config.k, config.low, config.high,
                   config.measurement == "binarized", config.nonnegative)

    def pieces(self) -> Iterator[Piece]:
        """Every (support, signs), supports in lexicographic order."""
        for support in itertools.combinations(range(self.n), self.k):
            for signs in itertools.product((1,) if self.nonnegative else (1, -1), repeat=self.k):
                yield Piece(support, signs)

    def piece_matrix(self, piece: Piece) -> np.ndarray:
        """M [m, k] with A x = M t on the piece (columns of A times the signs; exact in float32)."""
        return self.A[:, list(piece.support)] * np.asarray(piece.signs, dtype=np.float64)

    def measure(self, x: np.ndarray) -> np.ndarray:
        """y [B, m] of x [B, n]."""
        y = x @ self.A.T
        return np.where(y >= 0, 1.0, -1.0) if self.binarized else y

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` admissible x [count, n], supports and signs uniform, magnitudes uniform in range."""
        x = np.zeros((count, self.n))
        order = np.argsort(rng.random((count, self.n)), axis=1)[:, :self.k]
        values = rng.uniform(self.low, self.high, (count, self.k))
        if not self.nonnegative:
            values *= rng.choice((-1.0, 1.0), (count, self.k))
        np.put_along_axis(x, order, values, axis=1)
        return x


def gaussian_matrix(m: int, n: int, seed: int) -> np.ndarray:
    """A [m, n] with i.i.d. Gaussian entries and unit-norm columns."""
    A = np.random.default_rng(seed).standard_normal((m, n))
    return A / np.linalg.norm(A, axis=0, keepdims=True)


def support_errors(scores: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per row [B]: whether {i : scores_i > 0} differs from supp(x)."""
    return np.any((scores > 0) != (x != 0), axis=1)
