"""`Property` -> VNN-LIB 1.0 text that `parse_vnnlib` reads back to the same numbers.

Floats are written with `repr`, which round-trips float64 exactly.
"""

from __future__ import annotations

import numpy as np

from core.spec.property import Box, Conjunction, Property


def format_vnnlib(prop: Property) -> str:
    """VNN-LIB 1.0 text of `prop`: one region as plain asserts, several as one top-level `or`."""
    lines = [f"(declare-const X_{i} Real)" for i in range(prop.n_inputs)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(prop.n_outputs)]
    if len(prop.regions) == 1:
        region = prop.regions[0]
        lines += [f"(assert {bound})" for bound in _bounds(region.box)]
        lines.append(f"(assert {_disjunction(region.unsafe, prop.n_outputs)})")
    else:
        cases = [f"(and {' '.join(_bounds(r.box))} {_disjunction(r.unsafe, prop.n_outputs)})" for r in prop.regions]
        lines.append("(assert (or\n  " + "\n  ".join(cases) + "))")
    return "\n".join(lines) + "\n"


def _bounds(box: Box) -> list[str]:
    out = []
    for i, (low, high) in enumerate(zip(box.lower.tolist(), box.upper.tolist())):
        out += [f"(>= X_{i} {low!r})", f"(<= X_{i} {high!r})"]
    return out


def _disjunction(unsafe: tuple[Conjunction, ...], n_outputs: int) -> str:
    conjunctions = [f"(and {' '.join(_row(C_row, d, n_outputs) for C_row, d in zip(c.C, c.d))})" for c in unsafe]
    return f"(or {' '.join(conjunctions)})"


def _row(coefficients: np.ndarray, rhs: float, n_outputs: int) -> str:
    terms = [f"(* {c!r} Y_{j})" for j, c in enumerate(coefficients.tolist()) if c != 0.0]
    if not terms:
        terms = [f"(* 0.0 Y_{min(n_outputs - 1, 0)})"]
    return f"(<= (+ {' '.join(terms)}) {float(rhs)!r})"
