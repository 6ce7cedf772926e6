"""verify() end to end on real benchmark files: verdicts, counterexamples, progress, budgets."""

import csv
import time

import numpy as np
import pytest

from core.config import VerifyConfig
from core.counterexample import run_network
from core.model import load_network
from core.result import Verdict
from core.spec import load_property
from core.verifier import verify


def expected_rows(folder):
    with open(folder / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("index", range(5))
def test_every_instance_of_the_test_benchmark_is_answered_correctly(benchmarks_dir, index):
    folder = benchmarks_dir / "test"
    rows = expected_rows(folder)
    assert len(rows) == 5
    row = rows[index]
    network = load_network(folder / row["onnx"])
    prop = load_property(folder / row["vnnlib"])
    result = verify(network, prop, VerifyConfig(timeout_s=float(row["timeout"]), threads=1))
    assert result.verdict.value == row["expected"], result.message
    if result.verdict == Verdict.SAT:
        x, y = result.counterexample.x, result.counterexample.y
        assert prop.regions[0].box.contains(x)
        assert np.allclose(run_network(network.onnx_bytes, x).reshape(-1), y, atol=1e-5)
        assert prop.violated_by(x, y, tol=1e-4)
    else:
        assert result.certificate is not None and result.certificate["targets"]


@pytest.fixture(scope="module")
def hard_instance(benchmarks_dir):
    """An instance well beyond the budgets below: it verifies in about 15 s (input splitting,
    one thread), five times the 3 s timeout test."""
    folder = benchmarks_dir / "acasxu"
    network = load_network(folder / "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz")
    return network, load_property(folder / "vnnlib/prop_2.vnnlib.gz")


def test_timeout_comes_on_time_and_progress_arrives_every_second(hard_instance):
    events = []
    started = time.monotonic()
    result = verify(*hard_instance, VerifyConfig(timeout_s=3, threads=1), progress=events.append)
    took = time.monotonic() - started
    assert result.verdict == Verdict.TIMEOUT
    assert took < 3 + 1.5
    stamps = [e.elapsed_s for e in events]
    assert max(np.diff([0.0] + stamps + [took])) < 1.0
    assert {e.phase for e in events} >= {"attack", "incomplete", "bab", "done"}
    bab = [e for e in events if e.phase == "bab"]
    assert bab[-1].domains_visited > 0 and bab[-1].domains_open > 0
    assert bab[-1].lower_bound is not None and bab[-1].lower_bound <= 0
    assert events[-1].phase == "done" and events[-1].domains_visited == result.domains_visited >= bab[-1].domains_visited


def test_cancellation_through_the_callback_stops_within_a_second(hard_instance):
    asked_at = []

    def cancel_after_a_second(event):
        if event.elapsed_s > 1.0:
            asked_at.append(time.monotonic())
            return True
        return False

    result = verify(*hard_instance, VerifyConfig(timeout_s=60, threads=1), progress=cancel_after_a_second)
    assert result.verdict == Verdict.UNKNOWN and result.message == "cancelled"
    assert time.monotonic() - asked_at[0] < 1.0


def test_a_property_of_the_wrong_size_is_an_error_naming_the_sizes(benchmarks_dir, hard_instance):
    network, _ = hard_instance
    mnist_prop = load_property(benchmarks_dir / "mnist_fc/vnnlib/prop_0_0.03.vnnlib.gz")
    result = verify(network, mnist_prop)
    assert result.verdict == Verdict.ERROR
    assert "784 inputs" in result.message and "takes 5" in result.message


def test_a_search_past_its_memory_cap_ends_unknown_saying_so(hard_instance):
    result = verify(*hard_instance, VerifyConfig(timeout_s=60, threads=1, memory_cap_mb=0.01))
    assert result.verdict == Verdict.UNKNOWN
    assert "memory cap reached" in result.message
