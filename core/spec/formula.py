"""Boolean VNN-LIB formulas -> disjunctive normal form over box bounds and output rows.

Each comparison becomes literals: an input comparison must bound one variable by a
constant (`Bound`); an output comparison becomes a row `c . y <= rhs` (`Row`);
comparisons mixing inputs and outputs are rejected. `<` and `>` are read as `<=` and
`>=`, as VNN-COMP does. A formula's DNF is a list of terms, each a list of literals;
[] is false and [[]] is true.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass

from core.spec.errors import SpecSyntaxError
from core.spec.sexpr import Atom, Indexed, Node, SList
from core.spec.terms import Linear, linearise, number, operands
from core.spec.variables import INPUT, Variables

MAX_DISJUNCTS = 100_000  # the default; `PropertyLimits.disjuncts` sets it per read


@dataclass(frozen=True, slots=True)
class Bound:
    """Input `index` is <= value (upper) or >= value (lower)."""

    index: int
    upper: bool
    value: float


@dataclass(frozen=True, slots=True)
class Row:
    """Output constraint sum(coef[j] * y_j) <= rhs."""

    coef: dict[int, float]
    rhs: float


Literal = Bound | Row
Dnf = list[list[Literal]]

_LESS = {"<=": False, "<": False, ">=": True, ">": True}
_PLAIN = (Atom, Indexed)  # operands that are a number or a single variable


def dnf(node: Node, variables: Variables, limit: int = MAX_DISJUNCTS) -> Dnf:
    """The disjunctive normal form of one boolean formula, of at most `limit` terms."""
    if isinstance(node, Atom) and node.text in ("true", "false"):
        return [[]] if node.text == "true" else []
    if not isinstance(node, SList):
        raise SpecSyntaxError(node.pos, "expected a comparison or an and/or formula")
    if not node.items or not isinstance(node.items[0], Atom):
        raise SpecSyntaxError(node.pos, "expected an operator after '('")
    head = node.items[0].text
    args = operands(node)
    if head == "and":
        result: Dnf = [[]]
        for arg in args:
            result = _conjoin(result, dnf(arg, variables, limit), node.pos, limit)
        return result
    if head == "or":
        result = []
        for arg in args:
            result.extend(dnf(arg, variables, limit))
            if len(result) > limit:
                raise SpecSyntaxError(node.pos, f"formula has more than {limit} disjuncts (the limit on disjuncts)")
        return result
    if head in _LESS or head == "=":
        return _comparison(node, head, args, variables)
    raise SpecSyntaxError(node.items[0].pos,
                          f"unsupported operator {head!r}: expected and, or, <=, >=, <, > or =")


def _conjoin(left: Dnf, right: Dnf, pos: int, limit: int) -> Dnf:
    if len(left) * len(right) > limit:
        raise SpecSyntaxError(pos, f"normalising this formula gives more than {limit} disjuncts "
                                   "(the limit on disjuncts)")
    return [a + b for a in left for b in right]


def _comparison(node: SList, head: str, args: list, variables: Variables) -> Dnf:
    if len(args) < 2:
        raise SpecSyntaxError(node.pos, f"'{head}' needs at least two arguments")
    if len(args) == 2 and head != "=" and type(args[0]) in _PLAIN and type(args[1]) in _PLAIN:
        literal = _simple_literal(head, args[0], args[1], variables)
        if literal is not None:
            return [[literal]]
    terms = [linearise(arg, variables) for arg in args]
    literals: list[Literal] = []
    for left, right in zip(terms, terms[1:]):
        if head == "=":
            pairs = [(left, right), (right, left)]
        else:
            pairs = [(right, left)] if _LESS[head] else [(left, right)]
        for small, large in pairs:
            difference = Linear(dict(small.coef), small.const)
            difference.add(large, -1)
            literal = _literal(difference, node, variables)
            if literal is False:
                return []
            if literal is not True:
                literals.append(literal)
    return [literals]


def _simple_literal(head: str, left: Atom | Indexed, right: Atom | Indexed,
                    variables: Variables) -> Literal | None:
    """`(<= X_3 0.5)`, `(>= Y_0 Y_4)`, `(<= Y[1] 2)` and mirror images, without linear terms.

    Exact as it stands: negating a float is exact and a literal's float is its nearest,
    as the general path would give. None for anything else (the general path decides).
    """
    if _LESS[head]:
        left, right = right, left  # now the comparison reads left <= right
    left_value, small = _plain(left, variables)
    right_value, large = _plain(right, variables)
    if small is None and large is None:
        return None
    if small is None or large is None:
        side, index = small or large
        if side == INPUT:
            return Bound(index, small is not None, right_value if small is not None else left_value)
        return Row({index: 1.0}, right_value) if small is not None else Row({index: -1.0}, -left_value)
    if small[0] == INPUT or large[0] == INPUT:
        return None
    if small == large:
        return Row({small[1]: 0.0}, 0.0)
    return Row({small[1]: 1.0, large[1]: -1.0}, 0.0)


def _plain(node: Atom | Indexed, variables: Variables) -> tuple[float | None, tuple[str, int] | None]:
    """(value, None) for a number, (None, (side, index)) for a variable."""
    if type(node) is Indexed:
        return None, variables.resolve(node.name, node.index)
    value = number(node)
    return (value, None) if value is not None else (None, variables.resolve(node, None))


def _literal(expr: Linear, node: SList, variables: Variables) -> Literal | bool:
    """`expr <= 0` as a Bound, a Row, or a constant truth value."""
    sides = {side for side, _ in expr.coef}
    if not sides:
        return expr.const <= 0
    if len(sides) == 2:
        raise SpecSyntaxError(node.pos, "unsupported: a constraint mixing input (X) and output (Y) variables")
    if sides == {INPUT}:
        return _bound(expr, node, variables)
    return Row({index: _to_float(c, node) for (_, index), c in expr.coef.items()}, _to_float(-expr.const, node))


def _bound(expr: Linear, node: SList, variables: Variables) -> Bound | bool:
    nonzero = [(key, c) for key, c in expr.coef.items() if c != 0]
    if not nonzero:
        return expr.const <= 0
    if len(nonzero) > 1:
        names = ", ".join(variables.name(*key) for key, _ in nonzero[:3])
        raise SpecSyntaxError(
            node.pos, f"unsupported input constraint over {names}: input constraints must bound "
                      "one variable by a constant (a box)")
    (_, index), c = nonzero[0]
    return Bound(index, c > 0, _to_float(-expr.const / c, node))


def _to_float(value: Fraction, node: SList) -> float:
    """The float nearest to `value`. Nearest is exact for our purpose: inputs and outputs
    are floats, and no float lies strictly between a real bound and its nearest float,
    so `x <= value` and `x <= float(value)` hold for the same floats x (up to the one
    float the rounding may add, which only widens the set)."""
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise SpecSyntaxError(node.pos, "a coefficient or bound is outside the float64 range")
    return result
