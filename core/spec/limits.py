"""How large a property the reader accepts, enforced while reading.

A file far past a limit is refused after about as much work as the limit allows, not
after it is tokenised whole: the counts are kept as forms are read. The defaults are far
above every property in the shared VNN-COMP benchmarks (at most 6145 asserts, 15
disjuncts, 3072 inputs) and refuse a file of 10^6 asserts or disjuncts after a second or
so; the service reads them from its settings (`max_property_*`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PropertyLimits:
    """`asserts`: assert commands; `disjuncts`: operands of one `or`, and disjuncts of the
    normalised property; `comparisons`: comparisons (`<=`, `>=`, `<`, `>`, `=`) in the
    whole file, which also caps the operands of any one list; `variables`: declared inputs
    plus outputs (a 2.0 shape such as [100000,100000] declares 10^10 in a few bytes);
    `values`: the float64 numbers the property takes in memory, two per input for each
    input box built and one per output for each output row of each disjunct."""

    asserts: int = 100_000
    disjuncts: int = 100_000
    comparisons: int = 200_000
    variables: int = 1_000_000
    values: int = 20_000_000

    def __post_init__(self) -> None:
        for name in ("asserts", "disjuncts", "comparisons", "variables", "values"):
            if getattr(self, name) < 1:
                raise ValueError(f"property limit {name} must be at least 1, got {getattr(self, name)}")


DEFAULT_LIMITS = PropertyLimits()
