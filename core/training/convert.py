"""An `nn.Sequential` -> the graph IR, every step, with gradients flowing.

The operators reference (functions of) the module's own parameters, so IBP and CROWN run
by `core.bounds` on the graph are differentiable in them. BatchNorm is folded into the
linear/conv layer before it: in training mode with the statistics of the clean batch
(which also updates the running statistics, as `nn.BatchNorm` does), in eval mode with
the running statistics. The clean logits come out of the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from core.model.ir import Graph, Node
from core.model.operator import Operator
from core.model.ops.conv import Conv
from core.model.ops.linear import Linear
from core.model.ops.relu import Relu
from core.model.ops.reshape import Reshape
from core.model.ops.scale_shift import ScaleShift
from core.model.ops.window import Window
from core.training.fine_tune import Shift

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


class UnsupportedLayer(ValueError):
    """The network holds a layer certified training cannot convert; the message names it."""


@dataclass(frozen=True)
class Folded:
    """The graph of the network as it is this step, and the clean logits [B, classes]
    (None when no batch was given)."""

    graph: Graph
    logits: torch.Tensor | None


def to_graph(model: nn.Sequential, input_shape: tuple[int, ...], x: torch.Tensor | None = None) -> Folded:
    """Convert `model` for inputs of shape `input_shape` (per example). `x` [B, *input_shape]
    is the clean batch: required in training mode (its statistics fold BatchNorm)."""
    if model.training and x is None and any(isinstance(m, _BATCH_NORMS) for m in model):
        raise ValueError("a network with BatchNorm in training mode needs the clean batch to fold it")
    layers = list(model)
    nodes: list[Node] = []
    shape, name, h = tuple(input_shape), "input", x
    k = 0
    while k < len(layers):
        layer = layers[k]
        bn = layers[k + 1] if k + 1 < len(layers) and isinstance(layers[k + 1], _BATCH_NORMS) else None
        op, h = _operator(layer, bn, shape, h, model.training)
        k += 2 if bn is not None else 1
        out_shape = _out_shape(op, shape)
        nodes.append(Node(f"n{len(nodes)}", op, (name,), out_shape))
        name, shape = nodes[-1].name, out_shape
    graph = Graph("input", tuple(input_shape), nodes, name, shape, (1, *input_shape))
    return Folded(graph, h)


def _operator(layer: nn.Module, bn: nn.Module | None, shape: tuple[int, ...], h: torch.Tensor | None,
              training: bool) -> tuple[Operator, torch.Tensor | None]:
    """The IR operator of `layer` (with `bn` folded in) and its output on the batch `h`."""
    if isinstance(layer, (nn.Linear, nn.Conv2d)):
        make = _affine_maker(layer, shape)
        if bn is not None:
            weight, bias, h = _fold(bn, layer.weight, layer.bias, None if h is None else layer(h), training)
            return make(weight, bias), h
        op = make(layer.weight, layer.bias)
    elif isinstance(layer, nn.ReLU):
        op = Relu()
    elif isinstance(layer, nn.Flatten):
        if layer.start_dim != 1 or layer.end_dim != -1:
            raise UnsupportedLayer(f"{layer}: only Flatten() of everything after the batch axis is supported")
        op = Reshape((int(torch.Size(shape).numel()),), shape)
    elif isinstance(layer, Shift):
        op = ScaleShift(layer.scale, layer.shift, shape)
    elif isinstance(layer, _BATCH_NORMS):
        raise UnsupportedLayer(f"{layer}: BatchNorm must follow a Linear or Conv2d layer")
    else:
        raise UnsupportedLayer(f"{type(layer).__name__}: not a layer certified training supports "
                               "(Linear, Conv2d, BatchNorm after them, ReLU, Flatten)")
    return op, None if h is None else op.forward(h)


def _affine_maker(layer: nn.Module, shape: tuple[int, ...]) -> Callable[[torch.Tensor, torch.Tensor | None], Operator]:
    if isinstance(layer, nn.Linear):
        return Linear
    if isinstance(layer.padding, str) or layer.padding_mode != "zeros":
        raise UnsupportedLayer(f"{layer}: only explicit zero padding is supported")
    window = Window(tuple(layer.kernel_size), tuple(layer.stride), tuple(layer.padding) * 2, tuple(layer.dilation))
    return lambda weight, bias: Conv(weight, bias, window, layer.groups, shape)


def _fold(bn: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None, z: torch.Tensor | None,
          training: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(weight, bias) of layer-then-BatchNorm as one layer, and its output on the batch."""
    if training:
        dims = [0] + list(range(2, z.dim()))
        mean, var = z.mean(dims), z.var(dims, unbiased=False)
        with torch.no_grad():
            n = z.numel() // z.shape[1]
            m = bn.momentum if bn.momentum is not None else 0.1
            bn.running_mean.mul_(1 - m).add_(m * mean.detach())
            bn.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
            bn.num_batches_tracked += 1
    else:
        mean, var = bn.running_mean, bn.running_var
    scale = bn.weight / torch.sqrt(var + bn.eps)
    base = bias if bias is not None else torch.zeros_like(mean)
    folded_bias = (base - mean) * scale + bn.bias
    folded_weight = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    out = None
    if z is not None:
        view = (1, -1) + (1,) * (z.dim() - 2)
        out = (z - mean.reshape(view)) * scale.reshape(view) + bn.bias.reshape(view)
    return folded_weight, folded_bias, out


def _out_shape(op: Operator, shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        like = next((getattr(op, f) for f in ("weight", "scale") if hasattr(op, f)), None)
        dtype = like.dtype if isinstance(like, torch.Tensor) else torch.float32
        device = like.device if isinstance(like, torch.Tensor) else None
        return tuple(op.forward(torch.zeros(1, *shape, dtype=dtype, device=device)).shape[1:])
