"""Every shared VNN-COMP property parses, and its normal form means what the file says.

For each file, sample inputs (in and just outside the boxes) and outputs, evaluate the
file's s-expressions directly (tests/core/spec/sexpr_semantics.py) and require the same
answer from `Property.violated_by`.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from core.spec import Property, parse_vnnlib
from tests.core.spec.sexpr_semantics import read_tree, unsafe

# oval21's 30 properties of 3 072 inputs each take ~4 s (more on a loaded machine).
BENCHMARKS = ["test", "acasxu", "mnist_fc", "eran", pytest.param("oval21", marks=pytest.mark.slow),
              "tllverifybench", "rl_benchmarks", "reach_prob_density"]
SAMPLES = 48


def _samples(prop: Property, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs: mostly inside a random region's box, some pushed just outside one bound.
    Outputs: half drawn so the normal form calls them unsafe, half at random."""
    xs = []
    for _ in range(SAMPLES):
        box = prop.regions[rng.integers(len(prop.regions))].box
        x = box.lower + rng.random(prop.n_inputs) * (box.upper - box.lower)
        if rng.random() < 0.25:
            i = rng.integers(prop.n_inputs)
            step = 1e-3 * (1.0 + box.upper[i] - box.lower[i])
            x[i] = box.upper[i] + step if rng.random() < 0.5 else box.lower[i] - step
        xs.append(x)
    scale = 1.0 + max(np.abs(c.d).max(initial=0.0) for r in prop.regions for c in r.unsafe)
    candidates = rng.uniform(-2 * scale, 2 * scale, size=(2000, prop.n_outputs))
    hit = np.zeros(len(candidates), dtype=bool)
    for conjunction in (c for r in prop.regions for c in r.unsafe):
        hit |= np.all(candidates @ conjunction.C.T <= conjunction.d, axis=1)
    hits = candidates[hit]
    ys = [hits[k % len(hits)] if len(hits) and k % 2 == 0 else candidates[k] for k in range(SAMPLES)]
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_every_property_parses_and_agrees_with_direct_evaluation(benchmark, benchmarks_dir):
    files = sorted((benchmarks_dir / benchmark / "vnnlib").glob("*.vnnlib.gz"))
    assert files, f"no properties in {benchmark}"
    rng = np.random.default_rng(0)
    violations = 0
    for path in files:
        text = gzip.decompress(path.read_bytes()).decode()
        prop = parse_vnnlib(text)
        x, y = _samples(prop, rng)
        expected = unsafe(read_tree(text), x, y)
        got = np.array([prop.violated_by(xi, yi) for xi, yi in zip(x, y)])
        mismatch = np.flatnonzero(expected != got)
        assert mismatch.size == 0, f"{path.name}: sample {mismatch[0]} direct={expected[mismatch[0]]}"
        violations += int(expected.sum())
    assert 0 < violations < len(files) * SAMPLES, "samples never (or always) violated: the check is vacuous"


def test_acasxu_property_7_keeps_both_disjuncts(benchmarks_dir):
    text = gzip.decompress((benchmarks_dir / "acasxu" / "vnnlib" / "prop_7.vnnlib.gz").read_bytes()).decode()
    prop = parse_vnnlib(text)
    assert (prop.n_inputs, prop.n_outputs, len(prop.regions), prop.n_disjuncts) == (5, 5, 1, 2)
    first = prop.regions[0].unsafe[0]
    # (<= Y_3 Y_0) is Y_3 - Y_0 <= 0
    np.testing.assert_array_equal(first.C[0], [-1, 0, 0, 1, 0])
    np.testing.assert_array_equal(first.d, [0, 0, 0])
    np.testing.assert_array_equal(prop.regions[0].box.lower, [-0.328422877, -0.499999896, -0.499999896, -0.5, -0.5])


def test_input_constraints_inside_an_or_of_ands_are_read(benchmarks_dir):
    text = gzip.decompress((benchmarks_dir / "test" / "vnnlib" / "test_small.vnnlib.gz").read_bytes()).decode()
    prop = parse_vnnlib(text)
    assert len(prop.regions) == 1
    np.testing.assert_array_equal(prop.regions[0].box.lower, [-1.0])
    np.testing.assert_array_equal(prop.regions[0].box.upper, [1.0])
    assert prop.violated_by([0.5], [100.0]) and not prop.violated_by([0.5], [99.0])
