"""Backward passes take a chain of Linears as one product: same bounds, still sound."""

import torch

import core.bounds.plan as plan_module
from core.bounds import BoundOptions, Domains, bound
from core.bounds.plan import plan_for
from core.model.ir import Interval
from tests.core.bounds import nets
from tests.core.bounds.checks import sampled_extremes


def test_only_the_last_linear_of_each_chain_is_composed_down_to_the_chains_input():
    graph = nets.load(nets.chained_net(0, 3, [[8, 30, 20], [12, 16]], 2))
    chains = plan_for(graph).chains
    linears = [n for n in graph.nodes if type(n.op).__name__ == "Linear"]
    assert len(linears) == 6 and set(chains) == {linears[2].name, linears[4].name}
    composed, source = chains[linears[2].name]
    assert source == graph.input_name and tuple(composed.weight.shape) == (20, 3)
    x = torch.randn(5, 3, dtype=torch.float64)
    direct = linears[2].op.forward(linears[1].op.forward(linears[0].op.forward(x)))
    assert torch.allclose(composed.forward(x), direct, rtol=1e-12, atol=1e-12)


def test_a_chain_whose_product_would_be_larger_stays_layer_by_layer():
    graph = nets.load(nets.chained_net(0, 3, [[8, 30, 20], [4, 30]], 2))  # 20 -> 4 -> 30: 600 > 80 + 120
    linears = [n for n in graph.nodes if type(n.op).__name__ == "Linear"]
    assert set(plan_for(graph).chains) == {linears[2].name}


def test_bounds_with_composed_chains_equal_those_layer_by_layer_and_hold(monkeypatch):
    graph = nets.load(nets.chained_net(1, 4, [[6, 24, 18], [10, 14], [12]], 3))
    g = torch.Generator().manual_seed(2)
    centre = torch.rand(8, 4, dtype=torch.float64, generator=g) * 2 - 1
    domains = Domains(centre - 0.3, centre + 0.3)
    C = torch.randn(8, 2, 3, dtype=torch.float64, generator=g)
    d = torch.zeros(8, 2, dtype=torch.float64)
    composed = bound(graph, domains, C, d, "crown", BoundOptions(upper=True))
    assert plan_for(graph).chains
    plan_module._PLANS.clear()
    monkeypatch.setattr(plan_module, "linear_chains", lambda graph: {})
    layered = bound(graph, domains, C, d, "crown", BoundOptions(upper=True))
    assert not plan_for(graph).chains
    assert torch.allclose(composed.lower, layered.lower, rtol=1e-9, atol=1e-9)
    assert torch.allclose(composed.upper, layered.upper, rtol=1e-9, atol=1e-9)
    for i in range(8):
        low, high = sampled_extremes(graph, Interval(domains.lower[i:i + 1], domains.upper[i:i + 1]), C[i], d[i],
                                     n=300, pgd_steps=5, seed=i)
        assert torch.all(composed.lower[i] <= low + 1e-9) and torch.all(composed.upper[i] >= high - 1e-9)
