"""Intermediate CROWN bounds asked per domain (`bound_per_domain`) equal the union path's."""

import torch

import core.bounds.crown as crown
from core.bounds import BoundOptions, Domains, bound
from core.model.ir import Interval
from tests.core.bounds import nets
from tests.core.bounds.checks import sampled_extremes


def _boxes(graph, B: int, seed: int) -> Domains:
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(B, *graph.input_shape, dtype=torch.float64, generator=g) * 2 - 1
    radius = torch.rand(B, 1, dtype=torch.float64, generator=g) * 0.5 + 0.01
    return Domains(centre - radius, centre + radius)


def test_per_domain_rows_match_the_union_of_the_batch(monkeypatch):
    graph = nets.load(nets.fc_net(3, 4, [20, 20, 20], 3))
    domains = _boxes(graph, 200, 3)  # radii from 0.01 to 0.5: unstable counts differ widely
    C = torch.randn(1, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    d = torch.zeros(1, 2, dtype=torch.float64)
    calls = []
    per_domain = crown.bound_per_domain
    monkeypatch.setattr(crown, "bound_per_domain", lambda *a: calls.append(1) or per_domain(*a))
    grouped = bound(graph, domains, C, d, "crown", BoundOptions(upper=True))
    assert calls, "the per-domain path did not run"
    monkeypatch.setattr(crown, "GROUP", 10**9)
    union = bound(graph, domains, C, d, "crown", BoundOptions(upper=True))
    assert torch.equal(grouped.lower, union.lower) and torch.equal(grouped.upper, union.upper)
    for name, box in union.intermediate.items():
        assert torch.equal(grouped.intermediate[name].lower, box.lower)
        assert torch.equal(grouped.intermediate[name].upper, box.upper)
    for i in range(0, 200, 40):
        box = Interval(domains.lower[i:i + 1], domains.upper[i:i + 1])
        low, high = sampled_extremes(graph, box, C[0], d[0], n=300, pgd_steps=5, seed=i)
        assert torch.all(grouped.lower[i] <= low + 1e-7) and torch.all(grouped.upper[i] >= high - 1e-7)
