"""Conjunction of asserted DNFs -> `Property` regions (input box x disjunction of `C y <= d`).

Most asserts have a single term (a bound or a row); they are merged once into a base
box and base rows, so a file with thousands of input bounds costs one pass. Only the
asserts with several terms are multiplied out, and their product is capped. Terms are
grouped by their input box, in order of first appearance: each distinct box is a region.
"""

from __future__ import annotations

import numpy as np

from core.spec.errors import SpecSyntaxError
from core.spec.formula import MAX_DISJUNCTS, Bound, Dnf, Literal, Row
from core.spec.limits import DEFAULT_LIMITS
from core.spec.property import Box, Conjunction, Property, Region
from core.spec.variables import INPUT, Variables

MAX_VALUES = DEFAULT_LIMITS.values


def build_property(asserts: list[tuple[int, Dnf]], variables: Variables, end: int,
                   limit: int = MAX_DISJUNCTS, max_values: int = MAX_VALUES) -> Property:
    """`asserts` are (offset of the assert, its DNF); `end` is the offset of the end of file;
    the asserts together may give at most `limit` disjuncts, and the property may hold at
    most `max_values` numbers (checked before each box or matrix is allocated)."""
    n_inputs, n_outputs = variables.sizes(end)
    values = _Values(max_values, end)
    values.spend(2 * n_inputs)
    base_lower = np.full(n_inputs, -np.inf)
    base_upper = np.full(n_inputs, np.inf)
    base_rows: list[Row] = []
    terms: Dnf = [[]]
    for pos, disjunction in asserts:
        if not disjunction:
            raise SpecSyntaxError(pos, "this assertion can never hold, so nothing is unsafe")
        if len(disjunction) == 1:
            _apply(disjunction[0], base_lower, base_upper, base_rows)
            continue
        values.pos = pos  # a property too large to build is blamed on its last assert with several cases
        if len(terms) * len(disjunction) > limit:
            raise SpecSyntaxError(pos, f"the assertions together give more than {limit} disjuncts "
                                       "(the limit on disjuncts)")
        terms = [t + d for t in terms for d in disjunction]

    regions: dict[bytes, tuple[Box, list[Conjunction]]] = {}
    base_key: bytes | None = None  # terms without bounds of their own share the base box
    for term in terms:
        bounds = [literal for literal in term if isinstance(literal, Bound)]
        rows = base_rows + [literal for literal in term if isinstance(literal, Row)]
        values.spend(len(rows) * n_outputs + (2 * n_inputs if bounds or base_key is None else 0))
        if bounds or base_key is None:
            box = _box(base_lower, base_upper, bounds, variables)
            if box is None:
                continue  # an empty box holds no input, so this term adds nothing unsafe
            key = box.lower.tobytes() + box.upper.tobytes()
            base_key = base_key if bounds else key
            regions.setdefault(key, (box, []))
        else:
            key = base_key
        regions[key][1].append(_conjunction(rows, n_outputs))
    if not regions:
        index = int(np.argmax(base_lower > base_upper)) if np.any(base_lower > base_upper) else 0
        raise SpecSyntaxError(variables.position(INPUT, index),
                              "the input constraints contradict each other: no input satisfies them")
    return Property(n_inputs, n_outputs, tuple(Region(box, tuple(unsafe)) for box, unsafe in regions.values()))


class _Values:
    """Counts the numbers the property will hold and refuses it before they pass the limit."""

    def __init__(self, limit: int, pos: int):
        self.limit, self.pos, self.used = limit, pos, 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise SpecSyntaxError(self.pos, f"the property needs more than {self.limit} numbers in memory (input "
                                            "boxes and output rows of its disjuncts; the limit on values)")


def _box(base_lower: np.ndarray, base_upper: np.ndarray, bounds: list[Bound], variables: Variables) -> Box | None:
    """The base box cut by `bounds`; None if empty, an error if some input is unbounded."""
    lower, upper = base_lower.copy(), base_upper.copy()
    _apply(bounds, lower, upper, [])
    if np.any(lower > upper):
        return None
    _check_bounded(lower, upper, variables)
    lower += 0.0  # -0.0 + 0.0 is +0.0: no signed zeros reach the engine (numpy/torch
    upper += 0.0  # treat upper=-0.0, lower=+0.0 as an inverted range in places)
    return Box(lower, upper)


def _apply(term: list[Literal], lower: np.ndarray, upper: np.ndarray, rows: list[Row]) -> None:
    for literal in term:
        if isinstance(literal, Bound):
            if literal.upper:
                upper[literal.index] = min(upper[literal.index], literal.value)
            else:
                lower[literal.index] = max(lower[literal.index], literal.value)
        else:
            rows.append(literal)


def _check_bounded(lower: np.ndarray, upper: np.ndarray, variables: Variables) -> None:
    for values, what in ((lower, "lower"), (upper, "upper")):
        unbounded = np.flatnonzero(~np.isfinite(values))
        if unbounded.size:
            index = int(unbounded[0])
            more = f" (and {unbounded.size - 1} more inputs)" if unbounded.size > 1 else ""
            raise SpecSyntaxError(variables.position(INPUT, index),
                                  f"input {variables.name(INPUT, index)} has no {what} bound{more}; "
                                  "every input must be bounded on both sides")


def _conjunction(rows: list[Row], n_outputs: int) -> Conjunction:
    C = np.zeros((len(rows), n_outputs))
    d = np.empty(len(rows))
    for k, row in enumerate(rows):
        for j, c in row.coef.items():
            C[k, j] += c
        d[k] = row.rhs + 0.0
    return Conjunction(C, d)
