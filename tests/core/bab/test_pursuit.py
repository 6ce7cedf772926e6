"""Branch and bound's LP pursuit (core.bab.pursuit): the planet LP's minimiser of a domain
is a point of the box at least as bad as the LP says, it is what finds a counterexample
hidden in a bump (planted fc24: at the root, where the search without it visits thousands
of domains), and it keeps to its share of the time."""

from __future__ import annotations

import csv
import gzip
import time

import numpy as np
import pytest
import torch

from benchmarks.planted.generate import generate, specs, write
from core.bab.bounding import ReluRows, bound_domains
from core.bab.budget import Budget
from core.bab import pursuit as pursuit_module
from core.bab.pursuit import FREE_S, LpPursuit
from core.bounds.reference import planet_lp
from core.config import VerifyConfig
from core.counterexample import confirm
from core.model import load_network
from core.model.ir import Interval
from core.result import Verdict
from core.spec import load_property
from core.verifier import verify
from core.verifier.roots import tighten_root


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A planted fc24 instance (ReLU splitting): its network and property."""
    spec = next(s for s in specs() if s.family.name == "fc24" and s.side == 1e-3 and s.kind == "planted")
    out = tmp_path_factory.mktemp("pursuit")
    write([generate(spec)], out)
    onnx_path = next((out / "onnx").iterdir())
    return gzip.decompress(onnx_path.read_bytes()), load_property(next((out / "vnnlib").iterdir()))


def _budget(elapsed: float) -> Budget:
    """A run's budget that has been running for `elapsed` seconds."""
    return Budget(timeout_s=1e12, start=time.monotonic() - elapsed)


def _root(network, prop, disjunct: int = 0):
    graph = network.graph.to("cpu", torch.float64)
    region = prop.regions[0]
    lower = torch.tensor(region.box.lower, dtype=torch.float64)[None]
    upper = torch.tensor(region.box.upper, dtype=torch.float64)[None]
    C = torch.tensor(region.unsafe[disjunct].C, dtype=torch.float64)
    d = torch.tensor(region.unsafe[disjunct].d, dtype=torch.float64)
    out = bound_domains(graph, lower, upper, C[None], d[None], "crown")
    return graph, lower, upper, C, d, out


def test_the_minimiser_is_in_the_box_and_no_better_than_the_lp(planted):
    network = load_network(planted[0])
    graph, lower, upper, C, d, out = _root(network, planted[1])
    pursuit = LpPursuit(graph, C, d, 0.5, _budget(1e9))
    points = pursuit.candidates(lower, upper, ReluRows.of(graph, out.pre), out.lb.amax(1), torch.ones(1, dtype=torch.bool))
    assert 1 <= len(points) <= pursuit.solved  # the minimiser, and the dive's (an LP may be infeasible)
    assert all(bool(((x >= lower[0]) & (x <= upper[0])).all()) for x in points)
    x = points[0]
    margin = float((C @ graph.forward(x[None])[0] - d).max())
    # the LP relaxes the network: the margin max_j (C_j y - d_j) at its minimiser is at least the
    # LP's optimum, which is at least each row's own LP minimum
    lp_rows = planet_lp(graph, Interval(lower, upper), out.pre, C.numpy(), d.numpy())
    assert margin >= float(lp_rows.max()) - 1e-6


def test_it_finds_the_planted_counterexample_at_the_root(planted):
    data, prop = planted
    network = load_network(data)
    found = verify(network, prop, VerifyConfig(timeout_s=30, threads=1))
    assert found.verdict is Verdict.SAT and found.domains_visited == 0
    assert confirm(data, prop, np.asarray(found.counterexample.x), tol=0.0).ok
    without = verify(network, prop, VerifyConfig(timeout_s=3, threads=1, pursuit_share=0))
    assert without.verdict is not Verdict.SAT or without.domains_visited > 0


def test_it_keeps_to_its_share(planted):
    network = load_network(planted[0])
    graph, lower, upper, C, d, out = _root(network, planted[1])
    rows = ReluRows.of(graph, out.pre)
    args = (lower, upper, rows, out.lb.amax(1), torch.ones(1, dtype=torch.bool))
    assert LpPursuit(graph, C, d, 0.0, _budget(1e9)).candidates(*args) == []  # off
    first = LpPursuit(graph, C, d, 0.1, _budget(0.0))  # no time has passed: only a first, cheap LP is free
    assert first.cost < FREE_S and len(first.candidates(*args)) == 1 and first.candidates(*args) == []
    budget = _budget(1e9)
    pursuit = LpPursuit(graph, C, d, 0.1, budget)
    assert len(pursuit.candidates(*args)) >= 1 and pursuit.cost > 0 and budget.pursuit_s >= pursuit.cost
    # a second search of the same run shares the allowance: with the share spent, none is due
    budget.start = time.monotonic() - 10 * budget.pursuit_s
    other = LpPursuit(graph, C, d, 0.1, budget)
    other.solved = 1  # past its free first LP
    assert not other.due()


def test_input_splitting_pursues_the_worst_boxes(tmp_path):
    """Planted fc6 at 1e-5 (input splitting): the search alone visited 680,000 boxes in 60 s
    without finding it; the LPs of its worst boxes find it in seconds."""
    spec = next(s for s in specs() if s.family.name == "fc6" and s.side == 1e-5 and s.kind == "planted"
                and s.index == 1)
    write([generate(spec)], tmp_path)
    data = gzip.decompress(next((tmp_path / "onnx").iterdir()).read_bytes())
    prop = load_property(next((tmp_path / "vnnlib").iterdir()))
    network = load_network(data)
    found = verify(network, prop, VerifyConfig(timeout_s=40, threads=1))
    assert found.verdict is Verdict.SAT and found.stats["branching"] == "input"
    assert confirm(data, prop, np.asarray(found.counterexample.x), tol=0.0).ok


def test_the_dive_finds_what_the_minimiser_alone_misses(tmp_path, monkeypatch):
    """Planted conv8 at 1e-5: the root LP's minimiser is not in the bump (the relaxation
    flattens the bump's three saturating stages), and ReLU splitting missed two of three in
    60 s; fixing the phases the LP relaxes reaches the bump from the root's α boxes."""
    spec = next(s for s in specs() if s.family.name == "conv8" and s.side == 1e-5 and s.kind == "planted"
                and s.index == 0)
    write([generate(spec)], tmp_path)
    data = gzip.decompress(next((tmp_path / "onnx").iterdir()).read_bytes())
    prop = load_property(next((tmp_path / "vnnlib").iterdir()))
    network = load_network(data)
    with open(tmp_path / "witnesses.csv", newline="") as f:
        hidden = np.array(next(csv.DictReader(f))["x"].split(), float)
    y = network.graph.to("cpu", torch.float64).forward(torch.tensor(hidden)[None])[0].numpy()
    disjunct = next(k for k, unsafe in enumerate(prop.regions[0].unsafe) if unsafe.holds(y))  # the bump's
    graph, lower, upper, C, d, out = _root(network, prop, disjunct)
    root = tighten_root(graph, lower[0], upper[0], 20)  # the boxes the verifier's search starts from
    args = (lower, upper, root.rows, out.lb.amax(1), torch.ones(1, dtype=torch.bool))

    def violating(points):
        return [x for x in points if confirm(data, prop, x.numpy(), tol=0.0).ok]

    monkeypatch.setattr(pursuit_module, "DIVE", 0)
    alone = LpPursuit(graph, C, d, 0.5, _budget(1e9))
    assert len(alone.candidates(*args)) == 1 and not violating(alone.candidates(*args))
    monkeypatch.undo()
    dive = LpPursuit(graph, C, d, 0.5, _budget(1e9))
    points = dive.candidates(*args)
    assert 1 < dive.solved <= pursuit_module.DIVE + 1 and len(violating(points)) == 1
