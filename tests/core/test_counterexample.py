"""Counterexample replay with the real shared networks in real onnxruntime, and the
VNN-COMP result file."""

from __future__ import annotations

import gzip

import numpy as np
import onnxruntime as ort
import pytest

from core import counterexample
from core.counterexample import confirm, read_result, run_network, write_result
from core.result import Verdict
from core.spec import load_property


@pytest.fixture(scope="module")
def test_set(benchmarks_dir):
    folder = benchmarks_dir / "test"
    return {
        "sat": (folder / "onnx" / "test_sat.onnx.gz").read_bytes(),
        "unsat": (folder / "onnx" / "test_unsat.onnx.gz").read_bytes(),
        "prop": load_property(folder / "vnnlib" / "test_prop.vnnlib.gz"),
    }


def onnxruntime_output(onnx_gz: bytes, x: np.ndarray) -> np.ndarray:
    """The network's output computed here, independently of core.counterexample."""
    session = ort.InferenceSession(gzip.decompress(onnx_gz), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x.reshape(1, 1, 1, 5).astype(np.float32)})
    return out.reshape(-1).astype(np.float64)


def search_counterexample(onnx_gz: bytes, prop, tries: int = 2000) -> np.ndarray:
    """Random sampling in the box; test_sat's property is violated on a sizeable part of it."""
    box = prop.regions[0].box
    rng = np.random.default_rng(1)
    for _ in range(tries):
        x = box.lower + rng.random(prop.n_inputs) * (box.upper - box.lower)
        if prop.violated_by(x, onnxruntime_output(onnx_gz, x)):
            return x
    raise AssertionError("no counterexample found by sampling; test_sat is known to be sat")


def test_a_sampled_counterexample_on_test_sat_is_confirmed(test_set):
    x = search_counterexample(test_set["sat"], test_set["prop"])
    result = confirm(test_set["sat"], test_set["prop"], x)
    assert result.ok and (result.region, result.disjunct) == (0, 0), result.reason
    np.testing.assert_array_equal(result.y, onnxruntime_output(test_set["sat"], x))
    assert result.y.dtype == np.float64 and result.y.shape == (5,)
    assert np.argmin(result.y) == 0  # property 3's unsafe case: COC is the minimal score


def test_a_point_outside_the_box_is_rejected_unless_within_tolerance(test_set):
    prop = test_set["prop"]
    x = search_counterexample(test_set["sat"], prop)
    upper = prop.regions[0].box.upper[3]
    x[3] = upper + 5e-5  # within VNN-COMP's 1e-4
    assert confirm(test_set["sat"], prop, x).ok == prop.regions[0].unsafe[0].holds(run_network(test_set["sat"], x))
    x[3] = upper + 1e-3
    result = confirm(test_set["sat"], prop, x)
    assert not result.ok and result.region is None
    assert "outside every input box" in result.reason and "X_3" in result.reason
    assert not confirm(test_set["sat"], prop, x, tol=2e-3).reason.startswith("x is outside")


def test_a_safe_output_is_rejected_with_the_margin(test_set):
    prop = test_set["prop"]
    box = prop.regions[0].box
    rng = np.random.default_rng(2)
    for x in box.lower + rng.random((20, 5)) * (box.upper - box.lower):
        result = confirm(test_set["unsat"], prop, x)  # test_unsat is proven safe on this box
        assert not result.ok and result.disjunct is None
        assert "the output is safe" in result.reason and "missed by" in result.reason
        np.testing.assert_array_equal(result.y, onnxruntime_output(test_set["unsat"], x))


def test_sizes_that_do_not_fit_are_value_errors(test_set):
    with pytest.raises(ValueError, match="x has 4 values but the property has 5 inputs"):
        confirm(test_set["sat"], test_set["prop"], np.zeros(4))
    nano = load_property(b"(declare-const X_0 Real)(declare-const X_1 Real)(declare-const X_2 Real)"
                         b"(declare-const X_3 Real)(declare-const X_4 Real)(declare-const Y_0 Real)"
                         + b"".join(b"(assert (<= X_%d 1))(assert (>= X_%d 0))" % (i, i) for i in range(5)))
    with pytest.raises(ValueError, match="gives 5 outputs but the property has 1"):
        confirm(test_set["sat"], nano, np.zeros(5))


def test_bytes_that_are_no_network_are_a_value_error(test_set):
    for junk in (b"not an onnx model", gzip.compress(b"not an onnx model"), test_set["sat"][:100]):
        with pytest.raises(ValueError, match="onnxruntime cannot load the network"):
            confirm(junk, test_set["prop"], np.zeros(5))


def test_symbolic_batch_dimension_is_run_as_one(benchmarks_dir):
    net = (benchmarks_dir / "tllverifybench" / "onnx" / "tllBench_n=2_N=M=16_m=1_instance_1_0.onnx.gz").read_bytes()
    session = ort.InferenceSession(gzip.decompress(net), providers=["CPUExecutionProvider"])
    assert isinstance(session.get_inputs()[0].shape[0], str)
    x = np.array([0.5, -1.25])
    (expected,) = session.run(None, {session.get_inputs()[0].name: x.reshape(1, 2).astype(np.float32)})
    np.testing.assert_array_equal(run_network(net, x), expected.reshape(-1))


def test_sessions_are_cached_per_network_and_bounded(benchmarks_dir):
    counterexample._sessions.clear()
    nets = sorted((benchmarks_dir / "rl_benchmarks" / "onnx").glob("*.onnx.gz"))
    nets += sorted((benchmarks_dir / "reach_prob_density" / "onnx").glob("*.onnx.gz"))
    blobs = [p.read_bytes() for p in nets] + [gzip.decompress(p.read_bytes()) for p in nets]
    assert len(blobs) > counterexample.SESSION_CACHE_SIZE
    first = counterexample._session(blobs[0])
    assert counterexample._session(blobs[0]) is first
    for blob in blobs:
        counterexample._session(blob)
    assert len(counterexample._sessions) == counterexample.SESSION_CACHE_SIZE
    assert counterexample._session(blobs[0]) is not first  # evicted, then loaded again


def test_result_file_round_trips_and_matches_the_vnncomp_layout(tmp_path):
    x, y = np.array([0.1, -2.5e-7, 3.0]), np.array([1 / 3, -0.0])
    path = tmp_path / "result.txt"
    write_result(path, Verdict.SAT, x, y)
    text = path.read_text()
    assert text.splitlines()[0] == "sat" and text.splitlines()[1] == "((X_0 0.1)"
    verdict, x2, y2 = read_result(path)
    assert verdict is Verdict.SAT
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    # VNN-COMP's checker: drop the verdict line, join lines, strip the outer parentheses,
    # split on ')' and read "(NAME VALUE)" with a single space.
    body = " ".join(text.splitlines()[1:]).strip()[1:-1]
    pairs = [part.strip()[1:].split(" ") for part in body.split(")") if part.strip()]
    assert [name for name, _ in pairs] == ["X_0", "X_1", "X_2", "Y_0", "Y_1"]
    assert [float(v) for _, v in pairs] == [*x.tolist(), *y.tolist()]


@pytest.mark.parametrize("word, verdict", [("unsat", Verdict.UNSAT), ("timeout", Verdict.TIMEOUT),
                                           ("unknown", Verdict.UNKNOWN), ("error", Verdict.ERROR),
                                           ("holds", Verdict.UNSAT)])
def test_result_files_without_witness(tmp_path, word, verdict):
    path = tmp_path / "r.txt"
    path.write_text(word + "\n")
    assert read_result(path) == (verdict, None, None)
    if word != "holds":
        write_result(path, verdict)
        assert path.read_text() == word + "\n"


def test_2021_violated_word_and_bad_result_files(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("violated\n(\n(X_0 1.5)\n(Y_0 -2)\n)\n")
    verdict, x, y = read_result(path)
    assert verdict is Verdict.SAT and x.tolist() == [1.5] and y.tolist() == [-2.0]
    for content, words in [("maybe\n", "unknown result 'maybe'"), ("sat\n((X_0 1) (Y_0 2)", "never closed"),
                           ("sat\n((X_1 1) (Y_0 2))", "unexpected 'X_1'"), ("sat\n((X_0 abc) (Y_0 2))", "bad number"),
                           ("sat\n((X_0 1))", "both X_ and Y_")]:
        path.write_text(content)
        with pytest.raises(ValueError, match=words):
            read_result(path)
    with pytest.raises(ValueError, match="needs the counterexample"):
        write_result(path, "sat")
