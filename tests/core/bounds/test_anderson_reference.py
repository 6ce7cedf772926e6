"""The cutting-plane Anderson LP in float64: planet LP <= Anderson LP <= MILP, with and without
splits; strictly tighter than planet on a fixed net; every cut valid at sampled network points;
convergence (no violated cut left)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bounds import Domains, bound
from core.bounds.reference import _relu_chains, anderson_cuts, anderson_lp, exact_milp, planet_lp
from tests.core.bounds import nets

TOL = 1e-6


def _setup(seed, widths, radius, split_seed=None):
    graph = nets.load(nets.fc_net(seed, 3, widths, 2))
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(1, 3, dtype=torch.float64, generator=g) * 2 - 1
    domains = Domains(centre - radius, centre + radius)
    C = torch.randn(2, graph.output_size, dtype=torch.float64, generator=g)
    d = torch.zeros(2, dtype=torch.float64)
    if split_seed is not None:
        inter = bound(graph, domains, C, d, "crown").intermediate
        # phases of one point of the box, on a random subset of unstable neurons: never empty
        rng = np.random.default_rng(split_seed)
        point = domains.lower + (domains.upper - domains.lower) * torch.as_tensor(rng.uniform(size=(1, 3)))
        g64 = graph.to(dtype=torch.float64)
        values = {g64.input_name: point.numpy()}
        splits = {}
        for name, (source, W, b) in _relu_chains(g64).items():
            pre = values[source] @ W.T + b
            values[name] = np.maximum(pre, 0)
            unstable = ((inter[name].lower < 0) & (inter[name].upper > 0)).numpy().reshape(1, -1)
            chosen = unstable & (rng.uniform(size=unstable.shape) < 0.5)
            s = np.where(chosen, np.where(pre >= 0, 1, -1), 0).reshape(inter[name].lower.shape)
            splits[name] = torch.as_tensor(s, dtype=torch.int8)
        domains = Domains(domains.lower, domains.upper, splits)
    inter = bound(graph, domains, C, d, "crown").intermediate
    return graph, domains, inter, C.numpy(), d.numpy()


def _assert_between(graph, domains, inter, C, d):
    planet = planet_lp(graph, domains.box, inter, C, d)
    milp = exact_milp(graph, domains.box, inter, C, d)
    result = anderson_lp(graph, domains.box, inter, C, d)
    assert result.converged.all(), result
    assert np.all(planet - TOL <= result.value), (planet, result.value)
    assert np.all(result.value <= milp + TOL), (result.value, milp)
    return planet, result, milp


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.lists(st.integers(2, 8), min_size=1, max_size=3), st.floats(0.1, 0.8),
       st.one_of(st.none(), st.integers(0, 100)))
def test_anderson_between_planet_and_milp(seed, widths, radius, split_seed):
    _assert_between(*_setup(seed, widths, radius, split_seed))


def test_anderson_strictly_tighter_than_planet_on_a_fixed_net():
    planet, result, _ = _assert_between(*_setup(3, [8, 8], 0.8))
    assert np.any(result.value > planet + 1e-4), (planet, result.value)
    assert result.cuts.max() > 0


def test_oracle_cuts_hold_at_sampled_network_points():
    graph, domains, inter, C, d = _setup(11, [6, 6], 0.7)
    g64 = graph.to(dtype=torch.float64)
    chains = _relu_chains(g64)
    x = domains.lower + (domains.upper - domains.lower) * torch.rand(500, 3, dtype=torch.float64,
                                                                      generator=torch.Generator().manual_seed(0))
    values = {g64.input_name: x.numpy()}
    checked = 0
    for name, (source, W, b) in chains.items():
        src = values[source]
        pre = src @ W.T + b
        values[name] = np.maximum(pre, 0)
        z = (pre >= 0).astype(float)
        if source == g64.input_name:
            lo, hi = domains.lower.numpy().reshape(-1), domains.upper.numpy().reshape(-1)
        else:
            lo = np.maximum(inter[source].lower.numpy().reshape(-1), 0)
            hi = np.maximum(inter[source].upper.numpy().reshape(-1), 0)
        l_hat, u_hat = (t.numpy().reshape(-1) for t in (inter[name].lower, inter[name].upper))
        # cuts from points off the network (y pushed to its box top), then checked at network points
        rng = np.random.default_rng(1)
        for _ in range(20):
            xs = rng.uniform(lo, hi)
            zs = rng.uniform(0, 1, W.shape[0])
            ys = np.maximum(u_hat, 0) * 2
            for j, mask in anderson_cuts(W, b, lo, hi, l_hat, u_hat, xs, ys, zs):
                L, U = np.where(W[j] >= 0, lo, hi), np.where(W[j] >= 0, hi, lo)
                rhs = (np.where(mask, W[j] * (src - L * (1 - z[:, j:j + 1])), 0).sum(1)
                       + ((~mask * W[j] * U).sum() + b[j]) * z[:, j])
                assert np.all(values[name][:, j] <= rhs + 1e-9)
                checked += 1
    assert checked > 0


def _violation(W, b, lo, hi, x, y, z, j, mask):
    L, U = np.where(W[j] >= 0, lo, hi), np.where(W[j] >= 0, hi, lo)
    rhs = np.where(mask, W[j] * (x - L * (1 - z[j])), 0).sum() + ((~mask * W[j] * U).sum() + b[j]) * z[j]
    return y[j] - rhs


def test_oracle_finds_the_most_violated_subset_by_brute_force():
    rng = np.random.default_rng(4)
    n_in, n_out = 5, 6
    W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    lo, hi = -rng.uniform(0, 1, n_in), rng.uniform(0, 1, n_in)
    l_hat = b + np.minimum(W * lo, W * hi).sum(1)
    u_hat = b + np.maximum(W * lo, W * hi).sum(1)
    subsets = [np.array([(k >> i) & 1 for i in range(n_in)], bool) for k in range(2 ** n_in)]
    found = 0
    for _ in range(200):
        x, z = rng.uniform(lo, hi), rng.uniform(0, 1, n_out)
        y = rng.uniform(0, np.maximum(u_hat, 0))
        cuts = dict(anderson_cuts(W, b, lo, hi, l_hat, u_hat, x, y, z))
        for j in range(n_out):
            worst = max(_violation(W, b, lo, hi, x, y, z, j, m) for m in subsets)
            unstable = l_hat[j] < 0 < u_hat[j]
            assert (j in cuts) == (unstable and worst > 1e-7)
            if j in cuts:
                assert _violation(W, b, lo, hi, x, y, z, j, cuts[j]) == pytest.approx(worst, abs=1e-12)
                found += 1
    assert found > 0


def test_anderson_on_a_conv_net_and_with_fixed_splits():
    graph = nets.load(nets.conv_net(7, 1, 3))
    g = torch.Generator().manual_seed(7)
    centre = torch.rand(1, *graph.input_shape, dtype=torch.float64, generator=g) * 2 - 1
    domains = Domains(centre - 0.2, centre + 0.2)
    C = torch.randn(2, graph.output_size, dtype=torch.float64, generator=g)
    d = torch.zeros(2, dtype=torch.float64)
    inter = bound(graph, domains, C, d, "crown").intermediate
    planet, result, _ = _assert_between(graph, domains, inter, C.numpy(), d.numpy())
    assert np.any(result.value > planet + 1e-4)
    graph, domains, inter, C, d = _setup(3, [8, 8], 0.8, split_seed=5)
    assert sum(int((s != 0).sum()) for s in domains.splits.values()) > 0
    _assert_between(graph, domains, inter, C, d)


def test_anderson_refuses_non_chain_networks():
    graph = nets.load(nets.residual_net(6, 3, 6, 3))
    domains = Domains(torch.zeros(1, 3, dtype=torch.float64), torch.ones(1, 3, dtype=torch.float64))
    result = bound(graph, domains, torch.ones(1, 1, 3, dtype=torch.float64), torch.zeros(1, 1), "crown")
    with pytest.raises(ValueError, match="chains"):
        anderson_lp(graph, domains.box, result.intermediate, np.ones((1, 3)), np.zeros(1))
