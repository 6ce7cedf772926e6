"""The IR runs unchanged on CUDA: same forward and backward maps as on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import load_network
from core.model.operator import Affine
from tests.core.model.onnx_models import single

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return torch.device("cuda")


def _nets(benchmarks_dir):
    rng = np.random.default_rng(0)
    yield load_network(benchmarks_dir / "oval21/onnx/cifar_base_kw.onnx.gz")
    yield load_network(benchmarks_dir / "acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz")
    yield load_network(single("Gather", [1, 4, 5], {"i": np.array([3, 0, 3])}, axis=2))
    yield load_network(single("Pad", [1, 2, 3, 3], {"p": np.array([0, 0, 1, 2, 0, 0, 2, 1]), "v": np.array(0.5)}))
    yield load_network(single("Conv", [1, 2, 7, 6], {"w": rng.normal(size=(3, 2, 3, 3))}, strides=[2, 2],
                              pads=[1, 0, 2, 1]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_and_backward_match_cpu(cuda, benchmarks_dir, dtype):
    for net in _nets(benchmarks_dir):
        cpu, gpu = net.graph.to(dtype=dtype), net.graph.to(cuda, dtype)
        x = torch.rand(4, *net.input_shape, dtype=dtype)
        values = cpu.forward(x, keep=True)
        gpu_values = gpu.forward(x.to(cuda), keep=True)
        tol = 1e-4 if dtype == torch.float32 else 1e-10
        torch.testing.assert_close(gpu_values[cpu.output_name].cpu(), values[cpu.output_name], rtol=tol, atol=tol)
        for node, gpu_node in zip(cpu.nodes, gpu.nodes):
            if isinstance(node.op, Affine):
                A = torch.randn(2, *values[node.name].shape, dtype=dtype)
                coef, bias = node.op.linear_backward(A)
                gpu_coef, gpu_bias = gpu_node.op.linear_backward(A.to(cuda))
                for c, g in zip(coef, gpu_coef):
                    assert g.device.type == "cuda"
                    torch.testing.assert_close(g.cpu(), c, rtol=tol, atol=tol)
                torch.testing.assert_close(torch.as_tensor(gpu_bias).cpu(), torch.as_tensor(bias), rtol=tol, atol=tol)
