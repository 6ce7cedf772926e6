"""Intermediate CROWN bounds asked per domain (`bound_per_domain`) equal the union path's."""

import torch

import core.bounds.crown as crown
from core.bounds import BoundOptions, Domains, bound
from core.bounds.ibp import interval_pass
from core.bounds.plan import plan_for
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


def test_unit_rows_read_the_weight_and_give_the_dense_products_values():
    # Intermediate bounds ask for one neuron per row: the first Linear's product with a
    # one-hot A is a row lookup; both paths must give the same bounds bit for bit.
    graph = nets.load(nets.fc_net(5, 4, [30, 30], 3))
    plan = plan_for(graph)
    domains = _boxes(graph, 6, 5)
    boxes, _ = interval_pass(plan, domains)
    target = plan.nonlinear[-1].inputs[0]
    n = plan.numel[target]
    index = torch.tensor([0, 7, 29, 7])
    sign = torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    A = torch.zeros(4, 6, n, dtype=torch.float64)
    A[torch.arange(4), :, index] = sign[:, None]
    dense = crown.backward_bound(plan, target, A, boxes)
    unit = crown.backward_bound(plan, target, A, boxes, unit=index[:, None].expand(-1, 6))
    assert torch.equal(dense, unit)
