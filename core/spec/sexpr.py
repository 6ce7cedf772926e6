"""Tokens and s-expressions of VNN-LIB text, read one top-level form at a time.

Reading lazily lets the parser reject garbage at its first bad form instead of
tokenising a whole 100 MB upload first. Nesting depth is capped so that a stream of
'(' fails fast and the recursive walks over the tree stay within Python's stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Union

from core.spec.errors import SpecSyntaxError
from core.spec.limits import DEFAULT_LIMITS, PropertyLimits

MAX_DEPTH = 200

# Each match is the blanks and comments before one token, then the token. The first
# three alternatives take the commonest forms whole, in one match instead of one loop
# turn per token: `(assert (<= X_7 0.5))` (groups 1-4), `(declare-const X_7 Real)`
# (5-7) and a bare comparison `(<= Y_0 Y_3)` (8-10). Then a bracket or comma (11), a
# string (12, VNN-LIB 2.0 ONNX names), an atom (13), or any single character nothing
# else accepts (14). Blanks are scanned once per token; the possessive `*+` and the
# final `\Z` mean a match never backtracks over them.
_ATOM = r'([^\s()\[\],;"]+)'
_OPERAND = r'([^\s()\[\],;"]+(?:\s*\[[^\[\]();"]*\])?)'  # an atom, or a 2.0 element X[0,2]
_COMPARISON = rf'\(\s*([<>]=?)\s+{_OPERAND}\s+{_OPERAND}\s*\)'
_TOKEN = re.compile(
    r'(?:\s+|;[^\n]*)*+(?:'
    rf'\((assert)\s*{_COMPARISON}\s*\)'
    rf'|\((declare-const)\s+{_ATOM}\s+{_ATOM}\s*\)'
    rf'|{_COMPARISON}'
    r'|([()\[\],])|("[^"\n]*")|([^\s()\[\],;"]+)|(.)|\Z)', re.DOTALL)
_INDEX_PART = re.compile(r'[^\s,]+')
_ASSERT, _DECLARE, _COMPARE, _PUNCTUATION, _STRING, _WORD, _BAD = 4, 7, 10, 11, 12, 13, 14
_COMPARISONS = frozenset({"<=", ">=", "<", ">", "="})


class Atom(NamedTuple):
    """A symbol, number or string token and its character offset."""

    text: str
    pos: int


@dataclass(slots=True)
class SList:
    """A parenthesised list `( ... )` starting at offset `pos`."""

    items: list["Node"]
    pos: int


@dataclass(slots=True)
class Bracket:
    """A bracketed index or shape list `[1, 5]` (VNN-LIB 2.0): its atoms, commas dropped."""

    items: list[Atom]
    pos: int


@dataclass(slots=True)
class Indexed:
    """A VNN-LIB 2.0 tensor element `X[0,2]`: the name followed by its index list."""

    name: Atom
    index: Bracket

    @property
    def pos(self) -> int:
        return self.name.pos


Node = Union[Atom, SList, Bracket, Indexed]


def read_forms(text: str, limits: PropertyLimits = DEFAULT_LIMITS) -> Iterator[SList]:
    """Yield each top-level `( ... )` form of `text` as soon as it is complete; refuse the
    text as soon as it has more comparisons, or a list more operands, than `limits` allow."""
    stack: list[SList | Bracket] = []
    cursor, size = 0, len(text)
    comparisons = 0
    # Past this many items a list is looked at more closely (`_check_operands`).
    closer_look = min(limits.disjuncts, limits.comparisons) + 1
    while cursor < size:
        match = _TOKEN.match(text, cursor)
        cursor = match.end()
        group = match.lastindex
        if group is None:
            continue  # blanks at the end of the text
        if group <= _COMPARE:
            form = _simple_form(match, group)
            if group != _DECLARE:
                comparisons += 1
                if comparisons > limits.comparisons:
                    raise SpecSyntaxError(form.pos, _too_many_comparisons(limits))
            if not stack:
                yield form
                continue
            if isinstance(stack[-1], Bracket):
                raise SpecSyntaxError(form.pos, "'(' inside an index list '[...]'")
            if len(stack) + 2 > MAX_DEPTH:
                raise SpecSyntaxError(form.pos, f"expressions nested deeper than {MAX_DEPTH} levels")
            stack[-1].items.append(form)
            if len(stack[-1].items) > closer_look:
                _check_operands(stack[-1], limits)
            continue
        token = match.group(group)
        pos = match.start(group)
        if group == _WORD:
            if not stack:
                raise SpecSyntaxError(pos, f"expected '(' to start a command, found {_shorten(token)!r}")
            stack[-1].items.append(Atom(token, pos))
            if len(stack[-1].items) > closer_look:
                _check_operands(stack[-1], limits)
        elif token == "(":
            if stack and isinstance(stack[-1], Bracket):
                raise SpecSyntaxError(pos, "'(' inside an index list '[...]'")
            if len(stack) >= MAX_DEPTH:
                raise SpecSyntaxError(pos, f"expressions nested deeper than {MAX_DEPTH} levels")
            stack.append(SList([], pos))
        elif token == ")":
            if not stack:
                raise SpecSyntaxError(pos, "unbalanced ')': no '(' is open here")
            done = stack.pop()
            if isinstance(done, Bracket):
                raise SpecSyntaxError(pos, "')' closes an index list opened with '['")
            if done.items and type(done.items[0]) is Atom and done.items[0].text in _COMPARISONS:
                comparisons += 1
                if comparisons > limits.comparisons:
                    raise SpecSyntaxError(done.pos, _too_many_comparisons(limits))
            if stack:
                stack[-1].items.append(done)
                if len(stack[-1].items) > closer_look:
                    _check_operands(stack[-1], limits)
            else:
                yield done
        elif group == _BAD:
            problem = "unterminated string" if token == '"' else f"unexpected character {token!r}"
            raise SpecSyntaxError(pos, problem)
        elif not stack:
            raise SpecSyntaxError(pos, f"expected '(' to start a command, found {token!r}")
        elif group == _STRING:
            stack[-1].items.append(Atom(token, pos))
        elif token == "[":
            if isinstance(stack[-1], Bracket):
                raise SpecSyntaxError(pos, "'[' inside another '['")
            stack.append(Bracket([], pos))
        elif not isinstance(stack[-1], Bracket):
            raise SpecSyntaxError(pos, f"unexpected {token!r}: no '[' is open here")
        elif token == "]":
            done = stack.pop()
            stack[-1].items.append(done)
    if stack:
        kind = "'['" if isinstance(stack[-1], Bracket) else "'('"
        raise SpecSyntaxError(stack[-1].pos, f"unexpected end of file: this {kind} is never closed")


def _too_many_comparisons(limits: PropertyLimits) -> str:
    return f"the property has more than {limits.comparisons} comparisons (the limit on comparisons)"


def _check_operands(node: SList | Bracket, limits: PropertyLimits) -> None:
    """Refuse an `or` with more operands than the disjunct limit, or any list with more
    than the comparison limit, while it is still being read."""
    operands = len(node.items) - 1
    if operands > limits.disjuncts and type(node.items[0]) is Atom and node.items[0].text == "or":
        raise SpecSyntaxError(node.pos, f"this 'or' has more than {limits.disjuncts} operands (the limit on disjuncts)")
    if operands > limits.comparisons:
        raise SpecSyntaxError(node.pos, f"this list has more than {limits.comparisons} operands "
                                        "(the limit on comparisons)")


def _simple_form(match: re.Match, last_group: int) -> SList:
    first = {_ASSERT: 1, _DECLARE: 5, _COMPARE: 8}[last_group]
    atoms = [_operand(match.group(g), match.start(g)) for g in range(first, last_group + 1)]
    if last_group == _ASSERT:
        return SList([atoms[0], SList(atoms[1:], _open_paren(match, 2))], match.start(1) - 1)
    return SList(atoms, _open_paren(match, first))


def _operand(text: str, pos: int) -> Atom | Indexed:
    """An atom, or for `X[0, 2]` the element it names (its index atoms keep their offsets)."""
    if not text.endswith("]"):
        return Atom(text, pos)
    opening = text.index("[")
    parts = _INDEX_PART.finditer(text, opening + 1, len(text) - 1)
    indices = [Atom(m.group(), pos + m.start()) for m in parts]
    return Indexed(Atom(text[:opening].rstrip(), pos), Bracket(indices, pos + opening))


def _open_paren(match: re.Match, group: int) -> int:
    """Offset of the '(' that opens the list whose head is `group` (blanks may sit between)."""
    return match.string.rindex("(", 0, match.start(group))


def _shorten(token: str, limit: int = 40) -> str:
    return token if len(token) <= limit else token[:limit] + "..."
