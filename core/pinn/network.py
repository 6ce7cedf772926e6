"""A PINN as the derivative bounds need it: alternating affine maps and tanh, in float64.

Read through the engine's ONNX front end (`core.model.load_network`); consecutive affine
steps (Gemm/MatMul, elementwise Mul/Add such as input normalisation, identities) are
composed into one matrix, so the network becomes affine, tanh, affine, ..., affine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class PinnNetworkError(ValueError):
    """The network is not a tanh MLP on a flat input."""


@dataclass(frozen=True)
class TanhMLP:
    """`layers[k] = (weight [out, in], bias [out])`; tanh between consecutive layers."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_inputs(self) -> int:
        return self.layers[0][0].shape[1]

    @property
    def n_outputs(self) -> int:
        return self.layers[-1][0].shape[0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs [N, n_outputs] at inputs x [N, n_inputs] (float64)."""
        for k, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if k + 1 < len(self.layers):
                x = np.tanh(x)
        return x

    def torch_module(self):
        """The same network as a float64 torch.nn.Sequential (for autograd's derivatives)."""
        import torch
        from torch import nn

        modules = []
        for k, (w, b) in enumerate(self.layers):
            layer = nn.Linear(w.shape[1], w.shape[0]).double()
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.copy_(torch.from_numpy(b))
            modules.append(layer)
            if k + 1 < len(self.layers):
                modules.append(nn.Tanh())
        return nn.Sequential(*modules).requires_grad_(False)


def from_network(network) -> TanhMLP:
    """The TanhMLP of a `core.model.loader.Network`; raises PinnNetworkError naming the
    first node that is neither affine nor tanh."""
    from core.model.ops.identity import Identity
    from core.model.ops.linear import Linear
    from core.model.ops.reshape import Reshape
    from core.model.ops.scale_shift import ScaleShift
    from core.model.ops.tanh import Tanh

    graph = network.graph
    if len(graph.input_shape) != 1:
        raise PinnNetworkError(f"a PINN takes a flat vector of coordinates; this network's input is "
                               f"shaped {list(graph.input_shape)}")
    n = graph.input_shape[0]
    w, b = np.eye(n), np.zeros(n)
    layers, previous = [], graph.input_name
    for node in graph.nodes:
        if node.inputs != (previous,):
            raise PinnNetworkError(f"node {node.onnx_name or node.name!r} does not continue a single chain")
        previous = node.name
        op = node.op
        if isinstance(op, Linear):
            weight = op.weight.detach().double().cpu().numpy()
            bias = op.bias.detach().double().cpu().numpy() if op.bias is not None else 0.0
            w, b = weight @ w, weight @ b + bias
        elif isinstance(op, ScaleShift):
            scale = np.broadcast_to(op.scale.detach().double().cpu().numpy().reshape(-1), b.shape)
            shift = np.broadcast_to(op.shift.detach().double().cpu().numpy().reshape(-1), b.shape)
            w, b = scale[:, None] * w, scale * b + shift
        elif isinstance(op, (Identity, Reshape)) and tuple(node.shape) == (b.shape[0],):
            continue
        elif isinstance(op, Tanh):
            layers.append((w, b))
            w, b = np.eye(b.shape[0]), np.zeros(b.shape[0])
        else:
            raise PinnNetworkError(f"node {node.onnx_name or node.name!r} ({type(op).__name__}): a PINN here "
                                   "is a chain of affine layers and Tanh")
    layers.append((w, b))
    if len(layers) < 2:
        raise PinnNetworkError("the network has no Tanh layer: a PINN here is an MLP with tanh activations")
    return TanhMLP(tuple((np.ascontiguousarray(w), np.asarray(b, dtype=np.float64) * np.ones(w.shape[0]))
                         for w, b in layers))


def load_mlp(source) -> TanhMLP:
    """Read an ONNX file or bytes as a TanhMLP."""
    from core.model import load_network

    return from_network(load_network(source))
