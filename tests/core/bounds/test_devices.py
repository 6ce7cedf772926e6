"""The same bounds on CPU and CUDA (runs where a GPU is present)."""

import pytest
import torch

from core.bounds import BoundOptions, Domains, bound
from tests.core.bounds import nets

pytestmark = pytest.mark.gpu


def _problem(model: bytes):
    """The network, six boxes around random points and four random specifications."""
    graph = nets.load(model)
    g = torch.Generator().manual_seed(0)
    centre = torch.rand(6, *graph.input_shape, dtype=torch.float64, generator=g)
    C = torch.randn(1, 4, graph.output_size, dtype=torch.float64, generator=g)
    return graph, Domains(centre - 0.3, centre + 0.3), C, torch.zeros(1, 4, dtype=torch.float64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("model", [nets.fc_net(1, 4, [16, 16], 3, "Relu"), nets.residual_net(2, 4, 8, 3, "Tanh"),
                                   nets.conv_net(3, 3, 3, "Relu", pool=True)], ids=["fc", "residual", "conv"])
def test_cpu_and_cuda_bounds_agree(model):
    graph, domains, C, d = _problem(model)
    cuda_graph = graph.to("cuda")
    cuda_domains = Domains(domains.lower.cuda(), domains.upper.cuda())
    for method in ("ibp", "crown", "alpha"):
        options = BoundOptions(upper=True, alpha_iterations=10)
        cpu = bound(graph, domains, C, d, method, options)
        gpu = bound(cuda_graph, cuda_domains, C.cuda(), d.cuda(), method, options)
        assert torch.allclose(cpu.lower, gpu.lower.cpu(), atol=1e-8), method
        assert torch.allclose(cpu.upper, gpu.upper.cpu(), atol=1e-8), method


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("model", [nets.fc_net(1, 4, [16, 16], 3), nets.conv_net(3, 3, 3)], ids=["fc", "conv"])
def test_cpu_and_cuda_anderson_duals_agree(model):
    graph, domains, C, d = _problem(model)
    cuda_domains = Domains(domains.lower.cuda(), domains.upper.cuda())
    for method in ("big-m", "active-set", "saddle-point"):
        options = BoundOptions(alpha_iterations=10, dual_iterations=20)
        cpu = bound(graph, domains, C, d, method, options)
        gpu = bound(graph.to("cuda"), cuda_domains, C.cuda(), d.cuda(), method, options)
        assert torch.allclose(cpu.lower, gpu.lower.cpu(), atol=1e-7), method
