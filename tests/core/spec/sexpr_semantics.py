"""An independent reading of VNN-LIB 1.0 for tests: evaluate the s-expressions directly.

Deliberately shares nothing with core.spec: its own tokenizer, its own tree, and a
vectorised evaluator of the asserted formulas on a batch of (x, y) samples. Tests
compare its verdicts with `Property.violated_by` on the normalised form.
"""

from __future__ import annotations

import re

import numpy as np

_TOKENS = re.compile(r"\(|\)|[^\s()]+")


def read_tree(text: str) -> list:
    """Top-level forms of `text` as nested Python lists of strings (comments dropped)."""
    text = re.sub(r";[^\n]*", "", text)
    stack: list[list] = [[]]
    for token in _TOKENS.findall(text):
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    assert len(stack) == 1, "unbalanced test input"
    return stack[0]


def unsafe(forms: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether each sample (rows of x [N, n_in] and y [N, n_out]) satisfies every assert."""
    truth = np.ones(x.shape[0], dtype=bool)
    for form in forms:
        if form[0] == "assert":
            truth &= _boolean(form[1], x, y)
    return truth


def _boolean(expr, x, y) -> np.ndarray:
    op, args = expr[0], expr[1:]
    if op == "and":
        return np.logical_and.reduce([_boolean(a, x, y) for a in args] + [np.ones(x.shape[0], bool)])
    if op == "or":
        return np.logical_or.reduce([_boolean(a, x, y) for a in args] + [np.zeros(x.shape[0], bool)])
    values = [_arith(a, x, y) for a in args]
    compare = {"<=": np.less_equal, "<": np.less_equal, ">=": np.greater_equal, ">": np.greater_equal,
               "=": np.equal}[op]
    result = np.ones(x.shape[0], dtype=bool)
    for left, right in zip(values, values[1:]):
        result &= compare(left, right)
    return result


def _arith(expr, x, y):
    if isinstance(expr, str):
        if expr.startswith("X_"):
            return x[:, int(expr[2:])]
        if expr.startswith("Y_"):
            return y[:, int(expr[2:])]
        return np.full(x.shape[0], float(expr))
    op, values = expr[0], [_arith(a, x, y) for a in expr[1:]]
    if op == "+":
        return sum(values)
    if op == "-":
        return -values[0] if len(values) == 1 else values[0] - sum(values[1:])
    if op == "*":
        return np.prod(values, axis=0)
    raise AssertionError(f"test evaluator does not know {op!r}")
