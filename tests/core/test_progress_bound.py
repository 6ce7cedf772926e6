"""The lower bound a run reports: a bound of the whole property (every disjunct) that never
gets worse, and the per-disjunct status and bound the result carries."""

import numpy as np
import pytest
import torch

from core.bab.budget import Budget
from core.bab.search import Search
from core.config import VerifyConfig
from core.counterexample import run_network
from core.model import load_network
from core.spec import load_property
from core.verifier import verify


def test_each_target_keeps_its_best_bound_and_the_run_reports_the_smallest():
    budget = Budget(60)
    budget.raise_bound(-5.0, (0, 0))
    budget.raise_bound(-2.0, (0, 1))
    assert budget.lower_bound == -5.0
    budget.raise_bound(-1.0, (0, 0))  # target (0, 0) improves: now (0, 1) is the worst
    assert budget.lower_bound == -2.0
    budget.target = (0, 1)
    budget.raise_bound(-3.0)  # a child's bound below its parent's: not a reason to report worse
    budget.raise_bound(None)
    assert budget.lower_bound == -2.0 and budget.bounds == {(0, 0): -1.0, (0, 1): -2.0}
    budget.raise_bound(0.5)
    assert budget.lower_bound == -1.0


def test_a_search_s_bound_counts_the_open_domains_it_dropped():
    search = Search("input", Budget(60), None, 4, None)
    search.pool.push({"lb": torch.tensor([-0.5, 0.2])})
    assert search.frontier_lb() == -0.5
    search.drop(torch.tensor([-0.9, -0.1]))
    search.drop(torch.tensor([]))
    assert search.frontier_lb() == pytest.approx(-0.9)
    search.tick()
    assert search.budget.lower_bound == pytest.approx(-0.9)


def test_a_run_over_several_disjuncts_reports_a_bound_that_never_drops_and_holds(benchmarks_dir):
    """ACAS Xu prop_5 has four disjuncts that all need branch and bound: within a short
    budget the first stage gives each a slice, so the searches alternate (each used to
    report its own frontier, which fell back at every switch)."""
    folder = benchmarks_dir / "acasxu"
    network = load_network(folder / "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz")
    prop = load_property(folder / "vnnlib/prop_5.vnnlib.gz")
    events = []
    result = verify(network, prop, VerifyConfig(timeout_s=5, threads=1), progress=events.append)
    bounds = [e.lower_bound for e in events if e.lower_bound is not None]
    assert len(bounds) > 3 and bounds == sorted(bounds), bounds
    assert [(t["region"], t["disjunct"]) for t in result.targets] == [(0, k) for k in range(4)]
    assert result.lower_bound == bounds[-1] == min(t["lower_bound"] for t in result.targets)
    for target in result.targets:
        assert (target["status"] == "unsat") == (target["lower_bound"] > 0) and target["status"] != "sat"
    # every bound holds: no sampled input of the box has a smaller margin
    region = prop.regions[0]
    rng = np.random.default_rng(0)
    xs = rng.uniform(region.box.lower, region.box.upper, size=(200, prop.n_inputs))
    ys = np.stack([run_network(network.onnx_bytes, x).reshape(-1) for x in xs])
    for target in result.targets:
        conj = region.unsafe[target["disjunct"]]
        margins = (ys @ conj.C.T - conj.d).max(axis=1)
        assert margins.min() >= target["lower_bound"] - 1e-6
