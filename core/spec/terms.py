"""Linear arithmetic terms of VNN-LIB: numbers, variables, +, -, * by constants, / by constants.

Arithmetic is exact (Fractions of the decimal literals, as VNN-LIB's real-number
semantics say), so a bound such as `(<= (+ X_0 0.1) 0.3)` is rounded once, to the
nearest float, when it becomes a float, instead of drifting with each float operation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

from core.spec.errors import SpecSyntaxError
from core.spec.sexpr import Atom, Bracket, Indexed, Node, SList
from core.spec.variables import Variables

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_NUMBER_START = re.compile(r"[-+.0-9]")

Key = tuple[str, int]  # (side, flat index)


@dataclass
class Linear:
    """sum(coef[v] * v) + const, over (side, index) variables."""

    coef: dict[Key, Fraction] = field(default_factory=dict)
    const: Fraction = Fraction(0)

    def scaled(self, factor: Fraction) -> "Linear":
        return Linear({k: c * factor for k, c in self.coef.items()}, self.const * factor)

    def divided(self, divisor: Fraction) -> "Linear":
        return Linear({k: c / divisor for k, c in self.coef.items()}, self.const / divisor)

    def add(self, other: "Linear", sign: int = 1) -> None:
        for key, c in other.coef.items():
            self.coef[key] = self.coef.get(key, Fraction(0)) + sign * c
        self.const += sign * other.const


def number(atom: Atom) -> float | None:
    """The value of a numeric literal, None if `atom` is not one; finite or an error."""
    if not _NUMBER.match(atom.text):
        if _NUMBER_START.match(atom.text):
            raise SpecSyntaxError(atom.pos, f"bad number {atom.text!r}")
        return None
    value = float(atom.text)
    if not math.isfinite(value):
        raise SpecSyntaxError(atom.pos, f"number {atom.text!r} is out of the float64 range")
    return value


def exact_number(atom: Atom) -> Fraction | None:
    """The exact value of a numeric literal (None if `atom` is not one).

    Absurd literals (over 100 characters, exponents beyond +-400) use their float value:
    building their exact value would cost time, and float64 cannot tell the difference.
    """
    value = number(atom)
    if value is None:
        return None
    exponent = atom.text.lower().partition("e")[2]
    if len(atom.text) > 100 or (exponent and abs(int(exponent)) > 400):
        return Fraction(value)
    return Fraction(atom.text)


def operands(form: SList) -> list[Node]:
    """The arguments after the head of `form`, with each 2.0 `X [0,1]` joined into one `Indexed`."""
    result: list[Node] = []
    for item in form.items[1:]:
        if isinstance(item, Bracket):
            if not result or not isinstance(result[-1], Atom):
                raise SpecSyntaxError(item.pos, "an index '[...]' must follow a tensor name")
            result[-1] = Indexed(result[-1], item)
        else:
            result.append(item)
    return result


def linearise(node: Node, variables: Variables) -> Linear:
    """`node` as a Linear expression; non-linear or unknown operators are errors."""
    if isinstance(node, Indexed):
        return Linear({variables.resolve(node.name, node.index): Fraction(1)})
    if isinstance(node, Atom):
        value = exact_number(node)
        if value is not None:
            return Linear({}, value)
        return Linear({variables.resolve(node, None): Fraction(1)})
    if isinstance(node, Bracket):
        raise SpecSyntaxError(node.pos, "an index '[...]' must follow a tensor name")
    head = _head(node)
    args = [linearise(arg, variables) for arg in operands(node)]
    if head == "+" and args:
        total = Linear()
        for arg in args:
            total.add(arg)
        return total
    if head == "-" and len(args) == 1:
        return args[0].scaled(Fraction(-1))
    if head == "-" and args:
        total = Linear()
        total.add(args[0])
        for arg in args[1:]:
            total.add(arg, -1)
        return total
    if head == "*" and args:
        return _product(node, args)
    if head == "/" and len(args) >= 2:
        return _quotient(node, args)
    if head in ("+", "-", "*", "/"):
        raise SpecSyntaxError(node.pos, f"'{head}' has too few arguments")
    raise SpecSyntaxError(node.items[0].pos if node.items else node.pos,
                          f"unsupported arithmetic operator {head!r}: expected +, -, * or /")


def _head(form: SList) -> str:
    if not form.items or not isinstance(form.items[0], Atom):
        raise SpecSyntaxError(form.pos, "expected an operator after '('")
    return form.items[0].text


def _product(form: SList, args: list[Linear]) -> Linear:
    variable_factors = [a for a in args if a.coef]
    if len(variable_factors) > 1:
        raise SpecSyntaxError(form.pos, "unsupported: product of two variables (only linear terms are allowed)")
    factor = math.prod((a.const for a in args if not a.coef), start=Fraction(1))
    if not variable_factors:
        return Linear({}, factor)
    return variable_factors[0].scaled(factor)


def _quotient(form: SList, args: list[Linear]) -> Linear:
    if any(a.coef for a in args[1:]):
        raise SpecSyntaxError(form.pos, "unsupported: division by a variable (only linear terms are allowed)")
    divisor = math.prod((a.const for a in args[1:]), start=Fraction(1))
    if divisor == 0:
        raise SpecSyntaxError(form.pos, "division by zero")
    return args[0].divided(divisor)
