"""format_vnnlib and parse_vnnlib are inverse: random properties survive the round trip exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.spec import Box, Conjunction, Property, Region, format_vnnlib, parse_vnnlib

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
coefficient = st.one_of(st.just(0.0), st.just(1.0), st.just(-1.0), finite)


@st.composite
def properties(draw) -> Property:
    n_inputs, n_outputs = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    regions = []
    for _ in range(draw(st.integers(1, 3))):
        ends = np.array([sorted(draw(st.tuples(finite, finite))) for _ in range(n_inputs)])
        box = Box(ends[:, 0], ends[:, 1])
        unsafe = []
        for _ in range(draw(st.integers(1, 3))):
            rows = draw(st.integers(0, 3))
            C = np.array([[draw(coefficient) for _ in range(n_outputs)] for _ in range(rows)]).reshape(rows, n_outputs)
            d = np.array([draw(finite) for _ in range(rows)])
            unsafe.append(Conjunction(C, d))
        regions.append(Region(box, tuple(unsafe)))
    # Regions with identical boxes would merge on reading; the writer cannot keep them apart.
    keys = [(r.box.lower + 0.0).tobytes() + (r.box.upper + 0.0).tobytes() for r in regions]
    assume(len(set(keys)) == len(keys))
    return Property(n_inputs, n_outputs, tuple(regions))


def assert_same(a: Property, b: Property) -> None:
    assert (a.n_inputs, a.n_outputs, len(a.regions)) == (b.n_inputs, b.n_outputs, len(b.regions))
    for ra, rb in zip(a.regions, b.regions):
        np.testing.assert_array_equal(ra.box.lower, rb.box.lower)
        np.testing.assert_array_equal(ra.box.upper, rb.box.upper)
        assert len(ra.unsafe) == len(rb.unsafe)
        for ca, cb in zip(ra.unsafe, rb.unsafe):
            np.testing.assert_array_equal(ca.C, cb.C)
            np.testing.assert_array_equal(ca.d, cb.d)


@settings(max_examples=150, deadline=None)
@given(properties())
def test_parse_of_format_gives_back_the_same_numbers(prop):
    assert_same(parse_vnnlib(format_vnnlib(prop)), prop)


@settings(max_examples=60, deadline=None)
@given(properties(), st.data())
def test_round_tripped_property_classifies_points_the_same(prop, data):
    again = parse_vnnlib(format_vnnlib(prop))
    for _ in range(5):
        x = np.array(data.draw(st.lists(finite, min_size=prop.n_inputs, max_size=prop.n_inputs)))
        y = np.array(data.draw(st.lists(finite, min_size=prop.n_outputs, max_size=prop.n_outputs)))
        assert again.violated_by(x, y) == prop.violated_by(x, y)
