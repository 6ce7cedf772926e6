"""Convolutions (ONNX Conv, 1-D to 3-D), with explicit, possibly asymmetric, zero padding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import constant
from core.model.ops.window import Window, window

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@dataclass(eq=False)
class Conv(Affine):
    """Cross-correlation of [batch, C_in, *spatial] with `weight` [C_out, C_in/groups, *kernel]."""

    onnx_ops = ("Conv",)
    weight: torch.Tensor
    bias: torch.Tensor | None
    window: Window
    groups: int
    in_shape: tuple[int, ...]

    def _conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if any(self.window.pads):
            x = F.pad(x, self.window.torch_pad)
        return _CONV[weight.dim() - 2](x, weight, bias, self.window.strides, 0, self.window.dilations,
                                       self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv(x, self.weight, self.bias)

    def interval(self, x: Interval) -> Interval:
        center = self._conv(x.center, self.weight, self.bias)
        radius = self._conv(x.radius, self.weight.abs(), None)
        return Interval(center - radius, center + radius)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        spec, batch, *out = A.shape
        n = len(self.window.kernel)
        pads = self.window.pads
        padded = [s + pads[i] + pads[n + i] for i, s in enumerate(self.in_shape[1:])]
        reach = [(o - 1) * st + (k - 1) * d + 1 for o, st, k, d in
                 zip(out[1:], self.window.strides, self.window.kernel, self.window.dilations)]
        grad = _CONV_T[n](A.reshape(spec * batch, *out), self.weight, None, self.window.strides, 0,
                          [p - r for p, r in zip(padded, reach)], self.groups, self.window.dilations)
        crop = tuple(slice(pads[i], pads[i] + s) for i, s in enumerate(self.in_shape[1:]))
        grad = grad[(slice(None), slice(None)) + crop].reshape(spec, batch, *self.in_shape)
        if self.bias is None:
            return [grad], 0.0
        return [grad], (A.reshape(spec, batch, out[0], -1).sum(-1) * self.bias).sum(-1)

    def describe(self) -> str:
        c_out, c_in, *kernel = self.weight.shape
        return f"{type(self).__name__} {c_in * self.groups}->{c_out} kernel {kernel} stride " \
               f"{list(self.window.strides)} pads {list(self.window.pads)}"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Conv":
        x = node.variable(0)
        if not x.batched:
            raise Unsupported("the input needs a batch axis of size 1")
        weight = node.constant(1, "the weight")
        bias = node.optional_constant(2, "the bias")
        groups = node.attr("group", 1)
        kernel = tuple(weight.shape[2:])
        if len(kernel) not in _CONV or x.shape[1] != weight.shape[1] * groups:
            raise Unsupported(f"weight of shape {list(weight.shape)} (group={groups}) does not fit an "
                              f"input of shape {list(x.shape)}")
        return cls(constant(weight), None if bias is None else constant(bias),
                   window(node, kernel, x.shape[2:]), groups, x.example_shape)
