"""VNN-LIB reading: linear terms, nested and/or, regions, VNN-LIB 2.0, and clear errors."""

from __future__ import annotations

import gzip
import math
from fractions import Fraction

import numpy as np
import pytest

from core.spec import VnnlibError, load_property, parse_vnnlib

DECLS = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
BOX = "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 2))\n"


def parse(body: str):
    return parse_vnnlib(DECLS + BOX + body)


def error_of(text: str) -> VnnlibError:
    with pytest.raises(VnnlibError) as caught:
        parse_vnnlib(text)
    return caught.value


def test_linear_terms_with_scientific_notation_become_one_row():
    prop = parse("(assert (<= (+ (* 2 Y_0) (- Y_1 1.5e-1) 3) (* -1E+1 (- Y_0))))")
    (conj,) = prop.regions[0].unsafe
    # 2 y0 + y1 - 0.15 + 3 - 10 y0 <= 0  ->  -8 y0 + y1 <= -2.85
    np.testing.assert_allclose(conj.C, [[-8.0, 1.0]])
    np.testing.assert_allclose(conj.d, [-2.85])


def test_strict_comparisons_are_read_as_non_strict_and_chains_expand():
    prop = parse("(assert (< Y_0 Y_1 4))")
    (conj,) = prop.regions[0].unsafe
    np.testing.assert_array_equal(conj.C, [[1, -1], [0, 1]])
    np.testing.assert_array_equal(conj.d, [0, 4])
    assert prop.violated_by([0, 1], [4, 4]) and not prop.violated_by([0, 1], [4.1, 5])


def test_nested_and_or_is_normalised_to_a_disjunction_of_conjunctions():
    prop = parse("(assert (and (or (<= Y_0 1) (<= Y_1 2)) (or (>= Y_0 5) (and (>= Y_1 6) (>= Y_1 7)))))")
    unsafe = prop.regions[0].unsafe
    assert len(unsafe) == 4 and [len(c.d) for c in unsafe] == [2, 3, 2, 3]
    for y, expected in [([0, 6.5], False), ([0, 7], True), ([6, 1], True), ([2, 3], False)]:
        assert prop.violated_by([0, 1], y) is expected


def test_top_level_or_over_inputs_gives_one_region_per_box():
    text = DECLS + """(assert (or
        (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) (<= Y_0 Y_1))
        (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1) (<= Y_1 Y_0))
        (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1) (<= Y_1 -5))))"""
    prop = parse_vnnlib(text)
    assert len(prop.regions) == 2
    np.testing.assert_array_equal(prop.regions[1].box.lower, [2, 0])
    assert len(prop.regions[0].unsafe) == 1 and len(prop.regions[1].unsafe) == 2
    assert prop.violated_by([0.5, 0.5], [0, 1]) and not prop.violated_by([2.5, 0.5], [0, 1])


def test_an_or_assert_beside_and_asserts_keeps_every_box_bound():
    # The case the PyPI vnnlib 1.0.2 compat transform gets wrong (see docs/vnnlib.md).
    prop = parse_vnnlib(DECLS + "(assert (and (>= X_0 -1) (<= X_0 1)))\n(assert (>= X_1 0)) (assert (<= X_1 2))\n"
                        "(assert (or (<= Y_0 Y_1) (<= Y_0 3)))")
    assert len(prop.regions) == 1 and len(prop.regions[0].unsafe) == 2
    np.testing.assert_array_equal(prop.regions[0].box.lower, [-1, 0])
    np.testing.assert_array_equal(prop.regions[0].box.upper, [1, 2])


def test_computed_bounds_are_exact_then_rounded_once():
    prop = parse_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= (* 3 X_0) 1))"
                        "(assert (>= (+ X_0 0.1) (- 0.3 1)))(assert (<= (* 0.1 Y_0) (- 0.3 0.1)))")
    box, (conj,) = prop.regions[0].box, prop.regions[0].unsafe
    # Exact arithmetic: X_0 >= 0.3 - 1 - 0.1 = -0.8, and 0.1 y <= 0.2 (0.3 - 0.1 in floats is 0.19999999999999998).
    assert box.lower[0] == -0.8 and conj.d[0] == 0.2 and conj.C[0, 0] == 0.1
    # No float above the upper bound satisfies 3 x <= 1: the box loses no point.
    assert Fraction(math.nextafter(box.upper[0], math.inf)) * 3 > 1


def test_output_only_input_file_means_every_output_is_unsafe():
    prop = parse_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 0))")
    assert prop.regions[0].unsafe[0].C.shape == (0, 1)
    assert prop.violated_by([0.5], [123.0])


def test_vnnlib_2_network_declarations_and_indexed_elements():
    text = """(vnnlib-version <2.0>)
    (declare-network acas
        (declare-input  X float32 [1,2])
        (declare-output Y Real [1, 3] "logits"))
    (assert (and (>= X[0,0] -1.0) (<= X[0,0] 1.0)))
    (assert (>= X[0,1] 0.0)) (assert (<= X[0,1] 2.0))
    (assert (or (<= (- Y[0,0] Y[0,2]) 0.0) (>= Y [0, 1] 3.0)))"""
    prop = parse_vnnlib(text)
    assert (prop.n_inputs, prop.n_outputs) == (2, 3)
    np.testing.assert_array_equal(prop.regions[0].box.upper, [1, 2])
    first, second = prop.regions[0].unsafe
    np.testing.assert_array_equal(first.C, [[1, 0, -1]])
    np.testing.assert_array_equal(second.C, [[0, -1, 0]])
    np.testing.assert_array_equal(second.d, [-3])


def test_load_property_reads_plain_and_gzipped_paths_and_bytes(tmp_path):
    text = DECLS + BOX + "(assert (<= Y_0 Y_1))\n"
    plain, zipped = tmp_path / "p.vnnlib", tmp_path / "p.vnnlib.gz"
    plain.write_text(text)
    zipped.write_bytes(gzip.compress(text.encode()))
    loaded = [load_property(plain), load_property(str(zipped)), load_property(text.encode()),
              load_property(gzip.compress(text.encode()))]
    for prop in loaded:
        np.testing.assert_array_equal(prop.regions[0].box.upper, [1, 2])
        np.testing.assert_array_equal(prop.regions[0].unsafe[0].C, [[1, -1]])


@pytest.mark.parametrize("text, line, column, words", [
    (DECLS + "(assert (<= Y_9 1))", 5, 13, "unknown variable 'Y_9'"),
    (DECLS + "\n  (assert (<= Y_0 1.2.3))", 6, 19, "bad number '1.2.3'"),
    (DECLS + "(assert (<= Y_0 1)", 5, 1, "never closed"),
    (DECLS + "(assert (<= Y_0 1)))", 5, 20, "unbalanced ')'"),
    ("", 1, 1, "no input variables are declared"),
    ("; only a comment\n", 2, 1, "no input variables are declared"),
    (DECLS + BOX + "(assert (<= (+ X_0 Y_0) 1))", 9, 9, "mixing input (X) and output (Y)"),
    (DECLS + BOX + "(assert (<= (+ X_0 X_1) 1))", 9, 9, "must bound one variable"),
    (DECLS + "(assert (>= X_0 -1)) (assert (<= X_0 1)) (assert (<= X_1 1))", 2, 16, "X_1 has no lower bound"),
    (DECLS + BOX + "(assert (<= (* Y_0 Y_1) 1))", 9, 13, "product of two variables"),
    (DECLS + BOX + "(assert (not (<= Y_0 1)))", 9, 10, "unsupported operator 'not'"),
    (DECLS + "(declare-const X_0 Real)", 5, 16, "declared twice"),
    ("(declare-const X_1 Real)(declare-const Y_0 Real)", 1, 16, "X_0 is never declared"),
    ("(declare-const Z_0 Real)", 1, 16, "only X_<i>"),
    (DECLS + "(frobnicate)", 5, 2, "unknown command 'frobnicate'"),
    (DECLS + "garbage", 5, 1, "expected '(' to start a command"),
    (DECLS + BOX + '(assert (<= Y_0 "oops', 9, 17, "unterminated string"),
    (DECLS + BOX + "(assert (<= Y_0 1e999))", 9, 17, "out of the float64 range"),
    ("(" * 1000, 1, 201, "nested deeper than 200"),
])
def test_malformed_input_gives_one_located_error(text, line, column, words):
    error = error_of(text)
    assert words in str(error)
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).startswith(f"line {line}, column {column}: ")


def test_vnnlib_2_errors_name_the_problem():
    header = "(vnnlib-version <2.0>)\n(declare-network n (declare-input X Real [2]) (declare-output Y Real [1]))\n"
    assert "out of range" in str(error_of(header + "(assert (<= X[2] 1))"))
    located = error_of(header + "(assert (>= 0 X [ 7 ]))")
    assert (located.line, located.column, located.problem) == (3, 19, "index 7 out of range for dimension of size 2")
    assert "1 dimensions but 2 indices" in str(error_of(header + "(assert (<= X[0,0] 1))"))
    assert "needs an index" in str(error_of(header + "(assert (<= X 1))"))
    assert "X[1] has no lower bound" in str(error_of(header + "(assert (and (>= X[0] 0) (<= X[0] 1) (<= X[1] 1)))"))
    assert "unsupported element type 'int8'" in str(
        error_of("(declare-network n (declare-input X int8 [2]) (declare-output Y Real [1]))"))
    assert "declare-hidden" in str(
        error_of("(declare-network n (declare-input X Real [2]) (declare-hidden H Real [2] \"h\"))"))


def test_invalid_utf8_and_corrupt_gzip_are_vnnlib_errors():
    error = error_of_bytes(b"(declare-const X_0 Real)\n(assert \xff)")
    assert (error.line, error.column) == (2, 9) and "not UTF-8" in str(error)
    assert "corrupt or truncated gzip" in str(error_of_bytes(gzip.compress(b"(declare-const X_0 Real)")[:15]))


def error_of_bytes(data: bytes) -> VnnlibError:
    with pytest.raises(VnnlibError) as caught:
        load_property(data)
    return caught.value


def test_contradictory_input_bounds_are_reported():
    assert "contradict" in str(error_of(DECLS + "(assert (>= X_0 2)) (assert (<= X_0 1))"
                                        "(assert (>= X_1 0)) (assert (<= X_1 1))"))


def test_vnnlib_2_draft_layout_with_wrapped_declarations_and_shape_before_type():
    prop = parse_vnnlib("(declare-network n ((declare-input X [2] Real) (declare-output Y [1] Real)))"
                        "(assert (<= X[0] 1))(assert (>= X[0] 0))(assert (<= X[1] 1))(assert (>= X[1] 0))"
                        "(assert (>= Y[0] 0.5))")
    assert (prop.n_inputs, prop.n_outputs) == (2, 1)
    np.testing.assert_array_equal(prop.regions[0].unsafe[0].C, [[-1.0]])


def test_vnnlib_2_with_two_networks_is_an_error():
    net = "(declare-network {} (declare-input X{} Real [1]) (declare-output Y{} Real [1]))"
    error = error_of(net.format("a", 1, 1) + "\n" + net.format("b", 2, 2))
    assert error.line == 2 and "only one declare-network" in str(error)


def test_normalisation_stops_with_an_error_beyond_the_disjunct_cap():
    ors = "".join("(assert (or " + " ".join(f"(<= Y_{k % 2} {k})" for k in range(10)) + "))\n" for _ in range(6))
    error = error_of(DECLS + BOX + ors)
    assert "more than 100000 disjuncts" in str(error) and error.line == 14
