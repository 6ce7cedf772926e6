"""Every method's bounds contain every sampled and PGD-found output, on random small networks."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bounds import BoundOptions, Domains, bound
from tests.core.bounds import nets
from tests.core.bounds.checks import sampled_extremes

TOL = 1e-7


@st.composite
def networks(draw):
    kind = draw(st.sampled_from(["fc", "residual", "conv", "conv_pool"]))
    activation = draw(st.sampled_from(nets.ACTIVATIONS))
    seed = draw(st.integers(0, 10_000))
    n_out = draw(st.integers(1, 4))
    if kind == "fc":
        widths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
        model = nets.fc_net(seed, draw(st.integers(1, 4)), widths, n_out, activation)
    elif kind == "residual":
        model = nets.residual_net(seed, draw(st.integers(1, 4)), draw(st.integers(1, 6)), n_out, activation)
    else:
        model = nets.conv_net(seed, draw(st.integers(1, 3)), n_out, activation, pool=kind == "conv_pool")
    return nets.load(model), seed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.floats(0.01, 2.0), st.integers(1, 3))
def test_bounds_contain_sampled_and_attacked_outputs(net, radius, specs):
    graph, seed = net
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(1, *graph.input_shape, dtype=torch.float64, generator=g) * 2 - 1
    domains = Domains(centre - radius, centre + radius)
    C = torch.randn(specs, graph.output_size, dtype=torch.float64, generator=g)
    d = torch.randn(specs, dtype=torch.float64, generator=g)
    low, high = sampled_extremes(graph, domains.box, C, d, n=500, pgd_steps=15, seed=seed)
    for method in ("ibp", "crown", "alpha"):
        result = bound(graph, domains, C[None], d[None], method, BoundOptions(upper=True, alpha_iterations=8))
        assert torch.all(result.lower[0] <= low + TOL), f"{method} lower {result.lower[0]} above sampled {low}"
        assert torch.all(result.upper[0] >= high - TOL), f"{method} upper {result.upper[0]} below sampled {high}"
        for name, box in result.intermediate.items():
            assert torch.all(box.lower <= box.upper), f"{method}: crossed bounds at {name}"
