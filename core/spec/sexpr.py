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

MAX_DEPTH = 200

# Each match is the whitespace and comments before one token, then the token: a bracket
# or comma (1), a string (2, VNN-LIB 2.0 ONNX names), an atom (3), or any single
# character nothing else accepts (4). Skipping blanks inside the match halves the
# Python-level loop, which dominates reading time.
# The possessive `*+` and the final `\Z` mean a match never backtracks over blanks.
_TOKEN = re.compile(r'(?:\s+|;[^\n]*)*+(?:([()\[\],])|("[^"\n]*")|([^\s()\[\],;"]+)|(.)|\Z)', re.DOTALL)


# The commonest forms by far, `(assert (<= X_7 0.5))` and `(declare-const X_7 Real)`,
# read with one match each instead of one loop turn per token.
_ATOM = r'([^\s()\[\],;"]+)'
_SIMPLE = re.compile(r'(?:\s+|;[^\n]*)*+\((assert)\s*\(' + rf'\s*([<>]=?)\s+{_ATOM}\s+{_ATOM}\s*\)\s*\)'
                     rf'|(?:\s+|;[^\n]*)*+\((declare-const)\s+{_ATOM}\s+{_ATOM}\s*\)')


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


def read_forms(text: str) -> Iterator[SList]:
    """Yield each top-level `( ... )` form of `text` as soon as it is complete."""
    stack: list[SList | Bracket] = []
    cursor, size = 0, len(text)
    while cursor < size:
        if not stack:
            simple = _SIMPLE.match(text, cursor)
            if simple is not None:
                cursor = simple.end()
                yield _simple_form(simple)
                continue
        match = _TOKEN.match(text, cursor)
        cursor = match.end()
        group = match.lastindex
        if group is None:
            continue  # blanks at the end of the text
        token = match.group(group)
        pos = match.start(group)
        if group == 3:
            if not stack:
                raise SpecSyntaxError(pos, f"expected '(' to start a command, found {_shorten(token)!r}")
            stack[-1].items.append(Atom(token, pos))
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
            if stack:
                stack[-1].items.append(done)
            else:
                yield done
        elif group == 4:
            problem = "unterminated string" if token == '"' else f"unexpected character {token!r}"
            raise SpecSyntaxError(pos, problem)
        elif not stack:
            raise SpecSyntaxError(pos, f"expected '(' to start a command, found {token!r}")
        elif group == 2:
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


def _simple_form(match: re.Match) -> SList:
    if match.group(1) is not None:
        atoms = [Atom(match.group(g), match.start(g)) for g in (1, 2, 3, 4)]
        inner = _open_paren(match, 2)
        return SList([atoms[0], SList(atoms[1:], inner)], match.start(1) - 1)
    atoms = [Atom(match.group(g), match.start(g)) for g in (5, 6, 7)]
    return SList(atoms, match.start(5) - 1)


def _open_paren(match: re.Match, group: int) -> int:
    """Offset of the '(' that opens the list whose head is `group` (blanks may sit between)."""
    return match.string.rindex("(", 0, match.start(group))


def _shorten(token: str, limit: int = 40) -> str:
    return token if len(token) <= limit else token[:limit] + "..."
