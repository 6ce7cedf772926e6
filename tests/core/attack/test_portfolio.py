"""The attack portfolio: momentum PGD still finds what plain PGD finds, the rounds keep to
their time cap and grow their steps, and the verifier's answers stay right with it on."""

from __future__ import annotations

import time

import torch

from core.attack.pgd import pgd
from core.attack.portfolio import MOMENTUM, attack_open_targets, rounds
from core.config import VerifyConfig
from core.model import load_network
from core.spec import load_property
from core.verifier import verify
from core.verifier.targets import stack_padded, targets_of


def boxes(folder, onnx, vnnlib):
    graph = load_network(folder / onnx).graph.to(dtype=torch.float32)
    prop = load_property(folder / vnnlib)
    return graph, prop, stack_padded(targets_of(prop, "cpu", torch.float32))


def test_momentum_pgd_finds_the_unsafe_point_of_a_sat_instance_inside_the_box(benchmarks_dir):
    graph, prop, (lower, upper, C, d) = boxes(benchmarks_dir / "acasxu", "onnx/ACASXU_run2a_1_7_batch_2000.onnx.gz",
                                              "vnnlib/prop_3.vnnlib.gz")
    result = pgd(graph, lower, upper, C, d, 64, 30, torch.Generator().manual_seed(0), momentum=MOMENTUM)
    assert bool((result.x >= lower).all() and (result.x <= upper).all())
    k = int(result.margin.argmin())
    assert float(result.margin[k]) <= 0
    assert prop.regions[0].unsafe[k].holds(graph.forward(result.x[k:k + 1]).double().reshape(-1).numpy())


def test_rounds_alternate_momentum_and_double_their_steps():
    schedule = rounds(50)
    assert [r.momentum for r in schedule[:4]] == [MOMENTUM, 0.0, MOMENTUM, 0.0]
    assert [r.steps for r in schedule[:4]] == [100, 100, 200, 200]


def _portfolio(bundled_benchmarks, prop: str, cap_s: float) -> tuple[bool, list]:
    """The portfolio on the bundled relu5 network and `prop`: whether it confirmed a
    counterexample, and every round result it reported (each confirmed when unsafe)."""
    graph, _, (lower, upper, C, d) = boxes(bundled_benchmarks / "mlp", "onnx/relu5.onnx.gz", f"vnnlib/{prop}")
    seen = []

    def found(result):
        seen.append(result)
        return bool((result.margin <= 0).any())

    return attack_open_targets(graph, lower, upper, C, d, cap_s, 16, 20, torch.Generator().manual_seed(0), found), seen


def test_the_portfolio_keeps_to_its_time_cap_and_reports_nothing_on_a_safe_instance(bundled_benchmarks):
    start = time.monotonic()
    confirmed, seen = _portfolio(bundled_benchmarks, "relu5_unsat.vnnlib.gz", 1.0)
    assert not confirmed
    assert time.monotonic() - start < 3.0  # a 1 s cap: every PGD step checks it (slack for a loaded machine)
    assert len(seen) >= 2  # the first round measured the speed, later ones were sized by it


def test_the_portfolio_stops_at_the_first_confirmed_counterexample(bundled_benchmarks):
    confirmed, calls = _portfolio(bundled_benchmarks, "relu5_sat.vnnlib.gz", 5.0)
    assert confirmed and len(calls) == 1
def test_verdicts_stay_right_with_a_large_portfolio_share(bundled_benchmarks):
    folder = bundled_benchmarks / "mlp"
    network = load_network(folder / "onnx/relu5.onnx.gz")
    for vnnlib, expected in (("vnnlib/relu5_unsat.vnnlib.gz", "unsat"), ("vnnlib/relu5_sat.vnnlib.gz", "sat")):
        config = VerifyConfig(timeout_s=30, threads=1, device="cpu", attack_share=0.5)
        assert verify(network, load_property(folder / vnnlib), config).verdict.value == expected
