"""Property size limits are enforced while reading: a file far past one is refused after
about as much work as the limit allows (issue 27, item 10)."""

from __future__ import annotations

import gzip
import time

import pytest

from core.spec import PropertyLimits, VnnlibError, load_property, parse_vnnlib

DECLS = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
BOX = "(assert (>= X_0 0))\n(assert (<= X_0 1))\n"


def refused(text: str, limits: PropertyLimits = PropertyLimits()) -> VnnlibError:
    with pytest.raises(VnnlibError) as caught:
        parse_vnnlib(text, limits)
    return caught.value


def test_asserts_past_the_limit_are_refused_at_the_first_one_over():
    text = DECLS + BOX + "".join(f"(assert (<= Y_0 {i}))\n" for i in range(10))
    assert parse_vnnlib(text, PropertyLimits(asserts=12)).n_disjuncts == 1
    error = refused(text, PropertyLimits(asserts=11))
    assert (error.line, error.column) == (15, 1) and "more than 11 asserts" in str(error)


def test_an_or_past_the_disjunct_limit_is_refused_while_it_is_read():
    text = DECLS + BOX + "(assert (or " + " ".join(f"(<= Y_0 {i})" for i in range(6)) + "))\n"
    assert parse_vnnlib(text, PropertyLimits(disjuncts=6)).n_disjuncts == 6
    error = refused(text, PropertyLimits(disjuncts=5))
    assert error.line == 6 and "'or' has more than 5 operands" in str(error)


def test_normalising_past_the_disjunct_limit_is_refused():
    pair = "(assert (or (<= Y_0 0) (<= Y_1 0)))\n"
    assert parse_vnnlib(DECLS + BOX + pair * 3, PropertyLimits(disjuncts=8)).n_disjuncts == 8
    assert "more than 7 disjuncts" in str(refused(DECLS + BOX + pair * 3, PropertyLimits(disjuncts=7)))


def test_comparisons_past_the_limit_are_refused_inside_one_assert():
    conjunction = "(assert (and " + " ".join(f"(<= Y_0 {i})" for i in range(20)) + "))\n"
    assert parse_vnnlib(DECLS + BOX + conjunction, PropertyLimits(comparisons=22)).n_disjuncts == 1
    assert "more than 21 comparisons" in str(refused(DECLS + BOX + conjunction, PropertyLimits(comparisons=21)))


def _peak_growth_mb(work) -> float:
    """How far `work` pushes this process's peak RSS above its RSS before (VmHWM reset)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = _status("VmRSS")
    work()
    return (_status("VmHWM") - before) / 1024


def _status(field: str) -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


@pytest.mark.parametrize("shape", ["asserts", "or"])
def test_a_million_asserts_or_disjuncts_are_refused_fast_with_the_defaults(shape):
    if shape == "asserts":
        text = DECLS + "".join(f"(assert (<= X_0 {i}.5))\n" for i in range(10 ** 6))
    else:
        text = DECLS + BOX + "(assert (or " + " ".join(f"(and (<= Y_0 {i}))" for i in range(10 ** 6)) + "))"
    started = time.perf_counter()
    growth = _peak_growth_mb(lambda: refused(text))
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"refused after {elapsed:.1f} s"  # about 1 s alone; the old reader took 20-60 s
    assert growth < 150, f"peak RSS grew {growth:.0f} MB"  # the old reader grew by 0.4-1 GB


def test_load_property_refuses_nested_gzip_and_applies_limits():
    text = (DECLS + BOX + "(assert (<= Y_0 1))\n").encode()
    with pytest.raises(VnnlibError, match="nested gzip"):
        load_property(gzip.compress(gzip.compress(text)))
    with pytest.raises(VnnlibError, match="inflates to more than 20 bytes"):
        load_property(gzip.compress(text), max_bytes=20)
    with pytest.raises(VnnlibError, match="more than 2 asserts"):
        load_property(gzip.compress(text), PropertyLimits(asserts=2))


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="disjuncts must be at least 1"):
        PropertyLimits(disjuncts=0)


def test_a_huge_declared_shape_is_refused_before_anything_is_allocated():
    text = "(declare-network n (declare-input X Real [100000,100000]) (declare-output Y Real [1]))(assert (<= Y[0] 0))"
    error = refused(text)  # the old reader asked NumPy for 74.5 GiB (MemoryError, or the OOM killer for less)
    assert (error.line, error.column) == (1, 1) and "more than 1000000 inputs and outputs" in str(error)
    scalars = DECLS + "(declare-const X_1 Real)\n"
    assert "more than 3 inputs and outputs" in str(refused(scalars + BOX, PropertyLimits(variables=3)))


def test_a_property_too_large_to_build_is_refused_before_it_is_built():
    inputs = 1000
    decls = "".join(f"(declare-const X_{i} Real)\n" for i in range(inputs)) + "(declare-const Y_0 Real)\n"
    box = "".join(f"(assert (>= X_{i} 0))\n(assert (<= X_{i} 1))\n" for i in range(inputs))
    boxes = "(assert (or " + " ".join(f"(and (<= X_0 0.{k}) (<= Y_0 {k}))" for k in range(1, 10)) + "))\n"
    text = decls + box + boxes  # nine distinct input boxes of 1000 inputs: 2000 numbers each
    assert len(parse_vnnlib(text, PropertyLimits(values=2 * inputs * 10 + 9)).regions) == 9
    error = refused(text, PropertyLimits(values=2 * inputs * 9))
    assert "more than 18000 numbers in memory" in str(error) and error.line == 3 * inputs + 2  # the or
