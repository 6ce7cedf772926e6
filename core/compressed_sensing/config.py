"""How a compressed-sensing job is configured (torch-free: the API validates it).

One typed object for the problem (n, m, k, magnitudes, measurement kind, matrix), the
decoder's training and the whole-domain verification; docs/compressed_sensing.md.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.numbers import Count, Real, Seed

# Pieces C(n, k) * 2^k above this are refused: the verification enumerates every one.
MAX_PIECES = 200_000


class CSConfig(BaseModel):
    """Configuration of `core.compressed_sensing` runs; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: Count = Field(20, ge=2, le=64, description="Length of the sparse vector x.")
    m: Count = Field(8, ge=1, description="Number of measurements (rows of A), below n.")
    k: Count = Field(2, ge=1, description="Nonzeros of x (exactly k).")
    low: Real = Field(1.0, gt=0, description="Smallest magnitude of a nonzero entry (a).")
    high: Real = Field(2.0, gt=0, description="Largest magnitude of a nonzero entry (b).")
    nonnegative: bool = Field(False, description="Nonzeros are positive (the C(n, k) supports only); else "
                              "either sign (C(n, k) * 2^k pieces).")
    measurement: Literal["linear", "binarized"] = Field("linear", description="y = A x, or y = sign(A x).")
    matrix: list[list[Real]] | None = Field(
        None, description="A as m rows of n numbers (rounded to float32); None: Gaussian with unit-norm "
        "columns drawn from `matrix_seed`.")
    matrix_seed: Seed = Field(0, description="Seed of the Gaussian A when `matrix` is not given.")
    hidden: tuple[Count, ...] | None = Field(
        None, description="Hidden widths of the decoder MLP; None: chosen from the problem's size.")
    epochs: Count = Field(40, ge=1, description="Decoder training epochs.")
    samples: Count = Field(4096, ge=16, description="Random admissible x per training epoch.")
    bound_weight: Real = Field(0.0, ge=0, le=1, description="Final weight of the certified (IBP / CROWN-IBP) "
                               "term; 0 (clean loss, counterexample rounds) proved more pieces in "
                               "docs/results/compressed_sensing.md.")
    lr: Real = Field(1e-2, gt=0, description="Adam learning rate.")
    seed: Seed = Field(0, description="Seed of initialisation and sampling.")
    rounds: Count = Field(3, ge=1, le=20, description="Train-verify rounds: after each, the counterexamples "
                          "join the training samples.")
    workers: Count = Field(1, ge=1, le=64, description="Processes verifying pieces in parallel.")
    piece_timeout_s: Real = Field(30.0, gt=0, description="Verifier budget per linear piece.")
    baseline_samples: Count = Field(2000, ge=0, description="Sampled admissible x for LASSO / OMP.")

    @model_validator(mode="after")
    def _check(self) -> "CSConfig":
        if self.k >= self.n:
            raise ValueError(f"k = {self.k} must be below n = {self.n}")
        if self.m >= self.n:
            raise ValueError(f"m = {self.m} must be below n = {self.n} (fewer measurements than entries)")
        if self.high < self.low:
            raise ValueError(f"high = {self.high} is below low = {self.low}")
        if self.pieces > MAX_PIECES:
            raise ValueError(f"the problem has {self.pieces} pieces (supports x signs), over {MAX_PIECES}")
        if self.matrix is not None:
            shape = (len(self.matrix), {len(row) for row in self.matrix})
            if shape != (self.m, {self.n}):
                raise ValueError(f"matrix must be {self.m} rows of {self.n} numbers (m x n)")
        return self

    @property
    def pieces(self) -> int:
        """C(n, k) * 2^k (C(n, k) when nonnegative): one per support and sign pattern."""
        return math.comb(self.n, self.k) * (1 if self.nonnegative else 2**self.k)
