"""The three checks every operator test runs on a model it builds:

- forward agrees with onnxruntime (float64 where onnxruntime has the kernel);
- interval bounds hold for every node at sampled inputs of the box;
- `linear_backward` is exact: sum(A * f(x)) == sum_i sum(A_i * x_i) + bias.
"""

from __future__ import annotations

import numpy as np
import torch

from core.model import load_network
from core.model.ir import Graph, Interval
from core.model.loader import Network
from core.model.operator import Affine
from tests.core.model.onnx_models import run_ort


def check_operator(data: bytes, low: float = -2.0, high: float = 2.0, n: int = 64, seed: int = 0) -> Network:
    """Run all three checks on the network in `data`; returns it for further asserts."""
    net = load_network(data)
    g = torch.Generator().manual_seed(seed)
    x = low + (high - low) * torch.rand(n, *net.input_shape, dtype=torch.float64, generator=g)
    x = x.float().double()  # exactly representable where onnxruntime runs in float32
    assert_matches_onnxruntime(net, x)
    assert_intervals_sound(net.graph, low, high, x)
    assert_backward_exact(net.graph, x, g)
    return net


def assert_matches_onnxruntime(net: Network, x: torch.Tensor, rtol: float = 1e-5) -> None:
    ours = net.graph.forward(x).reshape(x.shape[0], -1).numpy()
    theirs = run_ort(net.onnx_bytes, x, net.input_name, net.onnx_input_shape)
    scale = max(np.abs(theirs).max(), 1e-3)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


def assert_intervals_sound(graph: Graph, low: float, high: float, x: torch.Tensor) -> None:
    box = Interval(torch.full_like(x[:1], low), torch.full_like(x[:1], high))
    bounds = {graph.input_name: box}
    for node in graph.nodes:
        bounds[node.name] = node.op.interval(*(bounds[i] for i in node.inputs))
    values = graph.forward(x, keep=True)
    for node in graph.nodes:
        b, v = bounds[node.name], values[node.name]
        tol = 1e-9 * (1 + v.abs())
        assert torch.all(b.lower <= v + tol) and torch.all(v <= b.upper + tol), f"interval of {node.name} misses"


def assert_backward_exact(graph: Graph, x: torch.Tensor, g: torch.Generator, specs: int = 3) -> None:
    values = graph.forward(x, keep=True)
    checked = 0
    for node in graph.nodes:
        if not isinstance(node.op, Affine):
            continue
        y = values[node.name]
        A = torch.randn(specs, *y.shape, dtype=y.dtype, generator=g)
        coefficients, bias = node.op.linear_backward(A)
        lhs = (A * y).reshape(specs, y.shape[0], -1).sum(-1)
        rhs = torch.as_tensor(bias, dtype=y.dtype).expand(specs, y.shape[0]).clone()
        for coef, name in zip(coefficients, node.inputs, strict=True):
            inp = values[name]
            assert coef.shape == (specs, *inp.shape), f"{node.name}: coefficient shape {tuple(coef.shape)}"
            rhs += (coef * inp).reshape(specs, inp.shape[0], -1).sum(-1)
        torch.testing.assert_close(lhs, rhs, rtol=1e-9, atol=1e-9 * float(lhs.abs().max() + 1))
        checked += 1
    assert checked, "the network has no affine node to check"
