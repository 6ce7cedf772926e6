"""What a VNN-LIB file means to the engine.

A property describes the *unsafe* set, as VNN-COMP does: the network is unsafe (the
answer is `sat`) when some input x in one of the property's regions' boxes gives an
output y inside that region's unsafe set. The unsafe set is a disjunction of
conjunctions of linear constraints, each conjunction written `C y <= d`.

Everything here is float64 NumPy: no torch, so the API can parse uploads cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Box:
    """Input box `lower <= x <= upper` over the flattened input (length n_inputs)."""

    lower: np.ndarray
    upper: np.ndarray

    def contains(self, x: np.ndarray, tol: float = 0.0) -> bool:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return bool(np.all(x >= self.lower - tol) and np.all(x <= self.upper + tol))


@dataclass(frozen=True, eq=False)
class Conjunction:
    """Unsafe when every row holds: `C @ y <= d`. C is [k, n_outputs], d is [k]."""

    C: np.ndarray
    d: np.ndarray

    def holds(self, y: np.ndarray, tol: float = 0.0) -> bool:
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        return bool(np.all(self.C @ y <= self.d + tol))


@dataclass(frozen=True, eq=False)
class Region:
    """One input box and the unsafe output set attached to it (a disjunction)."""

    box: Box
    unsafe: tuple[Conjunction, ...]

    def violated_by(self, x: np.ndarray, y: np.ndarray, tol: float = 0.0) -> bool:
        return self.box.contains(x, tol) and any(c.holds(y, tol) for c in self.unsafe)


@dataclass(frozen=True, eq=False)
class Property:
    """The unsafe set: x in regions[i].box and y in regions[i].unsafe, for some i.

    Most files have one region; a top-level `or` over input constraints gives several.
    """

    n_inputs: int
    n_outputs: int
    regions: tuple[Region, ...]

    @property
    def n_disjuncts(self) -> int:
        return sum(len(r.unsafe) for r in self.regions)

    def violated_by(self, x: np.ndarray, y: np.ndarray, tol: float = 0.0) -> bool:
        return any(r.violated_by(x, y, tol) for r in self.regions)
