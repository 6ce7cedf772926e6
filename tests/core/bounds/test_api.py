"""The bounding interface: batching, split constraints, chunking, warm starts, bad input."""

import pytest
import torch

from core.bounds import BoundOptions, Domains, bound
from tests.core.bounds import nets
from tests.core.bounds.checks import spec_values


@pytest.fixture(scope="module")
def graph():
    return nets.load(nets.fc_net(3, 3, [6, 5], 2))


def _domains(graph, batch: int, radius: float = 0.5, seed: int = 0) -> Domains:
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(batch, graph.input_size, dtype=torch.float64, generator=g) * 2 - 1
    return Domains(centre - radius, centre + radius)


C = torch.tensor([[[1.0, -1.0], [0.0, 1.0], [-1.0, 0.5]]], dtype=torch.float64)
D = torch.tensor([[0.1, -0.2, 0.0]], dtype=torch.float64)


@pytest.mark.parametrize("method", ["ibp", "crown", "alpha"])
def test_batch_equals_one_domain_at_a_time(graph, method):
    domains = _domains(graph, 5)
    together = bound(graph, domains, C, D, method, BoundOptions(upper=True))
    for k in range(5):
        alone = bound(graph, domains.index(slice(k, k + 1)), C, D, method, BoundOptions(upper=True))
        assert torch.allclose(together.lower[k], alone.lower[0], atol=1e-9)
        assert torch.allclose(together.upper[k], alone.upper[0], atol=1e-9)


@pytest.mark.parametrize("method", ["crown", "alpha"])
def test_tiny_memory_budget_chunks_without_changing_bounds(graph, method):
    domains = _domains(graph, 7)
    full = bound(graph, domains, C, D, method)
    chunked = bound(graph, domains, C, D, method, BoundOptions(memory_bytes=1))
    assert torch.allclose(full.lower, chunked.lower, atol=1e-9)
    if method == "alpha":
        assert all(v.shape[1] == 7 for v in chunked.warm_start.alphas.values())


def test_per_domain_specifications(graph):
    domains = _domains(graph, 2)
    per_domain = torch.stack([C[0], -C[0]])
    result = bound(graph, domains, per_domain, D.expand(2, -1), "crown")
    assert torch.allclose(result.lower[0], bound(graph, domains.index(slice(0, 1)), C, D, "crown").lower[0])
    assert torch.allclose(result.lower[1], bound(graph, domains.index(slice(1, 2)), -C, D, "crown").lower[0])


def test_splits_tighten_the_split_neuron_and_stay_sound(graph):
    domains = _domains(graph, 1, radius=1.0)
    free = bound(graph, domains, C, D, "crown")
    relu = next(name for name in free.intermediate)
    pre = free.intermediate[relu]
    unstable = int(torch.nonzero(((pre.lower < 0) & (pre.upper > 0))[0])[0])
    x = domains.lower + torch.rand(4000, graph.input_size, dtype=torch.float64) * (domains.upper - domains.lower)
    pre_value = graph.forward(x, keep=True)[graph.node(relu).inputs[0]][:, unstable]
    for side in (1, -1):
        split = torch.zeros_like(pre.lower, dtype=torch.int8)
        split[0, unstable] = side
        child = bound(graph, Domains(domains.lower, domains.upper, {relu: split}), C, D, "crown")
        box = child.intermediate[relu]
        assert (box.lower[0, unstable] >= 0) if side > 0 else (box.upper[0, unstable] <= 0)
        inside = x[(pre_value * side) >= 0]
        assert torch.all(spec_values(graph, inside, C[0], D[0]).min(0).values >= child.lower[0] - 1e-9)


def test_contradictory_splits_make_the_domain_empty(graph):
    domains = _domains(graph, 2, radius=0.01)
    free = bound(graph, domains, C, D, "crown", BoundOptions(upper=True))
    relu = next(iter(free.intermediate))
    pre = free.intermediate[relu]
    assert torch.all((pre.lower > 0) | (pre.upper < 0)), "tiny boxes should make every neuron stable"
    contradiction = torch.where(pre.lower > 0, -1, 1).to(torch.int8)  # force each neuron to the other side
    contradiction[1] = 0
    result = bound(graph, Domains(domains.lower, domains.upper, {relu: contradiction}), C, D, "crown",
                   BoundOptions(upper=True))
    assert torch.all(result.lower[0] == float("inf")) and torch.all(result.upper[0] == float("-inf"))
    assert torch.allclose(result.lower[1], free.lower[1])


def test_alpha_warm_start_is_used(graph):
    domains = _domains(graph, 3, radius=1.0)
    parent = bound(graph, domains, C, D, "alpha", BoundOptions(alpha_iterations=30))
    crown = bound(graph, domains, C, D, "crown")
    assert torch.all(parent.lower >= crown.lower - 1e-12)
    order = torch.tensor([2, 0])
    child = bound(graph, domains.index(order), C, D, "alpha", BoundOptions(alpha_iterations=0),
                  warm_start=parent.warm_start.index(order))
    assert torch.allclose(child.lower, parent.lower[order], atol=1e-12)
    cold = bound(graph, domains.index(order), C, D, "alpha", BoundOptions(alpha_iterations=0))
    assert torch.allclose(cold.lower, crown.lower[order], atol=1e-12)


def test_ibp_intermediate_option_gives_wider_boxes_and_sound_bounds(graph):
    domains = _domains(graph, 2, radius=1.0)
    tight = bound(graph, domains, C, D, "crown")
    loose = bound(graph, domains, C, D, "crown", BoundOptions(intermediate="ibp"))
    for name, box in tight.intermediate.items():
        assert torch.all(loose.intermediate[name].lower <= box.lower + 1e-12)
        assert torch.all(loose.intermediate[name].upper >= box.upper - 1e-12)
    x = domains.lower[0] + torch.rand(4000, graph.input_size, dtype=torch.float64) * (domains.upper[0] - domains.lower[0])
    assert torch.all(spec_values(graph, x, C[0], D[0]).min(0).values >= loose.lower[0] - 1e-9)


@pytest.mark.parametrize("args, message", [
    (dict(C=torch.ones(1, 3, 5)), "specification matrix C"),
    (dict(d=torch.ones(1, 4)), "offsets d"),
    (dict(method="beta"), "unknown bounding method"),
])
def test_bad_arguments_are_named(graph, args, message):
    kwargs = dict(graph=graph, domains=_domains(graph, 1), C=C, d=D, method="crown") | args
    with pytest.raises(ValueError, match=message):
        bound(**kwargs)


def test_bad_domains_are_named(graph):
    with pytest.raises(ValueError, match="lower > upper"):
        Domains(torch.ones(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="NaN"):
        Domains(torch.full((1, 3), float("nan")), torch.ones(1, 3))
    with pytest.raises(ValueError, match="inputs each"):
        bound(graph, Domains(torch.zeros(1, 4), torch.ones(1, 4)), C, D)


def test_intermediate_bounds_do_not_depend_on_the_batch_or_the_beta_wrapper():
    """A certificate checker re-derives each domain's boxes alone, with plain ReLUs: they
    must be exactly the ones the verifier had (CROWN is not monotone in them)."""
    from core.bounds.beta import with_beta

    graph = nets.load(nets.fc_net(7, 3, [12, 12, 12], 2))
    domains = _domains(graph, 6, radius=0.3, seed=4)
    together = bound(graph, domains, C, D, "crown")
    wrapped = bound(with_beta(graph), domains, C, D, "crown")
    for k in range(6):
        alone = bound(graph, domains.index(slice(k, k + 1)), C, D, "crown")
        for name, box in alone.intermediate.items():
            assert torch.equal(wrapped.intermediate[name].lower, together.intermediate[name].lower)
            assert torch.equal(wrapped.intermediate[name].upper, together.intermediate[name].upper)
            assert torch.allclose(together.intermediate[name].lower[k], box.lower[0], rtol=0, atol=1e-12)
            assert torch.allclose(together.intermediate[name].upper[k], box.upper[0], rtol=0, atol=1e-12)
