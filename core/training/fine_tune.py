"""A user's ONNX network -> an `nn.Sequential` to fine-tune with certified training.

The network is read with the engine's own ONNX front end (`core.model.load_network`),
so whatever normalisation or BatchNorm it holds is already folded; the chain of IR
operators is mapped back to torch layers holding trainable copies of the constants.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.model.ir import Graph


class Shift(nn.Module):
    """x * scale + shift with fixed constants (input normalisation of a loaded network)."""

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def load_for_fine_tuning(source: Path | bytes) -> tuple[nn.Sequential, tuple[int, ...]]:
    """The trainable network and its per-example input shape; a ValueError names what
    cannot be fine-tuned (a graph that is not a chain, an operator without a torch layer)."""
    from core.model import load_network

    graph = load_network(source).graph
    return from_graph(graph), graph.input_shape


def from_graph(graph: Graph) -> nn.Sequential:
    layers, previous = [], graph.input_name
    for node in graph.nodes:
        if node.inputs != (previous,):
            raise ValueError(f"node {node.onnx_name or node.name} does not continue a single chain; only "
                             "sequential networks can be fine-tuned")
        layers.append(_layer(node.op, node.shape))
        previous = node.name
    return nn.Sequential(*layers).float()


def _layer(op, out_shape: tuple[int, ...]) -> nn.Module:
    kind = type(op).__name__
    if kind == "Linear":
        layer = nn.Linear(op.weight.shape[1], op.weight.shape[0], bias=op.bias is not None)
        return _copy(layer, op.weight, op.bias)
    if kind == "Conv" and op.weight.dim() == 4:
        pads = op.window.pads
        if pads[:2] != pads[2:]:
            raise ValueError(f"Conv with asymmetric pads {list(pads)} cannot be fine-tuned")
        c_out, c_in, *kernel = op.weight.shape
        layer = nn.Conv2d(c_in * op.groups, c_out, tuple(kernel), op.window.strides, pads[:2],
                          op.window.dilations, op.groups, bias=op.bias is not None)
        return _copy(layer, op.weight, op.bias)
    if kind == "Relu":
        return nn.ReLU()
    if kind == "Reshape" and len(op.shape) == 1:
        return nn.Flatten()
    if kind == "ScaleShift":
        return Shift(op.scale.float(), op.shift.float())
    raise ValueError(f"{op.describe()}: no trainable torch layer for this operator (fine-tuning supports "
                     "Linear, Conv 2-D, ReLU, Flatten and constant scale/shift)")


def _copy(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer
