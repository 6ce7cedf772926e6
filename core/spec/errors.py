"""Errors from reading VNN-LIB: one message that says where and what is wrong."""

from __future__ import annotations


class VnnlibError(ValueError):
    """A property file the reader cannot accept.

    `line` and `column` are 1-based and point at the offending token; the message
    starts with them, e.g. "line 12, column 7: unknown variable 'Y_9'".
    """

    def __init__(self, line: int, column: int, problem: str) -> None:
        super().__init__(f"line {line}, column {column}: {problem}")
        self.line = line
        self.column = column
        self.problem = problem


class SpecSyntaxError(Exception):
    """Raised inside the reader with a character offset; `located` turns it into a VnnlibError.

    Keeping offsets (not line numbers) while reading means the line/column arithmetic
    is paid once, for the one error that is reported.
    """

    def __init__(self, pos: int, problem: str) -> None:
        super().__init__(problem)
        self.pos = pos
        self.problem = problem

    def located(self, text: str) -> VnnlibError:
        pos = max(0, min(self.pos, len(text)))
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return VnnlibError(line, column, self.problem)
