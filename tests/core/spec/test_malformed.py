"""Malformed VNN-LIB fails fast with a VnnlibError, never with anything else."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.spec import VnnlibError, load_property, parse_vnnlib

VALID = """; a small property
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (>= X_0 -1.5))
(assert (<= X_0 1e-2))
(assert (and (>= X_1 0) (<= X_1 2)))
(assert (or (and (<= Y_0 Y_1) (>= Y_0 -3.25)) (<= (+ Y_1 (* 2 Y_0)) 0.5)))
"""


def outcome(text: str) -> str:
    """'ok' or 'error'; anything but a VnnlibError escapes and fails the test."""
    start = time.perf_counter()
    try:
        parse_vnnlib(text)
        result = "ok"
    except VnnlibError as error:
        assert re.match(r"line \d+, column \d+: \S", str(error))
        result = "error"
    assert time.perf_counter() - start < 2.0  # generous: the machine may be shared
    return result


def test_the_fuzzing_seed_is_valid():
    assert outcome(VALID) == "ok"


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(VALID)), st.text(max_size=20))
def test_any_edit_parses_or_gives_a_vnnlib_error(position, junk):
    outcome(VALID[:position] + junk + VALID[position:])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(1, 30))
def test_any_deletion_parses_or_gives_a_vnnlib_error(position, length):
    outcome(VALID[:position] + VALID[position + length:])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, VALID.rindex(")") - 1))
def test_truncation_inside_the_last_form_is_an_error(position):
    last_form = VALID.rindex("(assert")
    assert outcome(VALID[: max(position, last_form + 1)]) == "error"


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_dropping_or_adding_a_parenthesis_is_an_error(data):
    spots = [m.start() for m in re.finditer(r"[()]", VALID)]
    spot = data.draw(st.sampled_from(spots))
    assert outcome(VALID[:spot] + VALID[spot + 1:]) == "error"
    assert outcome(VALID[:spot] + ")" + VALID[spot:]) == "error"


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from(["1.2.3", "1e", "--1", "+-2", "1x", ".e5", "0x10", "1_000"]))
def test_a_bad_number_is_an_error_naming_it(data, bad):
    numbers = [m for m in re.finditer(r"(?<=[ (])-?[0-9][0-9.e-]*(?=\))", VALID)]
    spot = data.draw(st.sampled_from(numbers))
    with pytest.raises(VnnlibError, match=re.escape(f"bad number {bad!r}")):
        parse_vnnlib(VALID[: spot.start()] + bad + VALID[spot.end():])


@settings(max_examples=50, deadline=None)
@given(st.data(), st.sampled_from(["Y_2", "X_9", "Z", "y_0", "X_00"]))
def test_an_unknown_variable_is_an_error_naming_it(data, name):
    uses = [m for m in re.finditer(r"[XY]_[0-9]", VALID) if "declare" not in VALID[m.start() - 20: m.start()]]
    spot = data.draw(st.sampled_from(uses))
    with pytest.raises(VnnlibError, match=re.escape(f"unknown variable {name!r}")):
        parse_vnnlib(VALID[: spot.start()] + name + VALID[spot.end():])


HUNDRED_MB = 100 * 2**20


@pytest.mark.parametrize("make", [
    lambda: os.urandom(HUNDRED_MB),
    lambda: np.random.default_rng(0).choice(np.frombuffer(b"()XY_0123456789 .-<=>\n;", np.uint8),
                                            2**20).tobytes() * 100,
    lambda: b"(" * HUNDRED_MB,
    lambda: b" " * HUNDRED_MB + b"x",
    lambda: b"(declare-const X_0 Real)" * (HUNDRED_MB // 24),
], ids=["random-bytes", "random-tokens", "open-parens", "blanks-then-junk", "repeated-declaration"])
def test_100_mb_of_garbage_fails_in_well_under_a_few_seconds(make):
    data = make()
    start = time.perf_counter()
    with pytest.raises(VnnlibError):
        load_property(data)
    assert time.perf_counter() - start < 3.0  # typically 0.1 to 0.6 s
