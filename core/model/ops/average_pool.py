"""ONNX AveragePool, as the depthwise convolution with weights 1/kernel size that it is."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from core.model.onnx_node import OnnxNode, Unsupported
from core.model.ops.conv import Conv
from core.model.ops.window import window


@dataclass(eq=False)
class AveragePool(Conv):
    """Mean over each window; a Conv whose weight is 1/prod(kernel) per channel."""

    onnx_ops = ("AveragePool",)

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "AveragePool":
        x = node.variable(0)
        if not x.batched or len(x.shape) < 3:
            raise Unsupported("the input needs a batch axis of size 1, channels and spatial axes")
        kernel = tuple(node.attr("kernel_shape", ()))
        win = window(node, kernel, x.shape[2:])
        if any(win.pads) and not node.attr("count_include_pad", 0):
            raise Unsupported("padding with count_include_pad=0 (border windows divide by fewer "
                              "entries) is not supported")
        if node.attr("ceil_mode", 0) and any(
                (s + win.pads[i] + win.pads[len(kernel) + i] - ((k - 1) * d + 1)) % st
                for i, (s, k, st, d) in enumerate(zip(x.shape[2:], kernel, win.strides, win.dilations))):
            raise Unsupported("ceil_mode=1 with partial windows at the border is not supported")
        channels = x.shape[1]
        weight = torch.full((channels, 1, *kernel), 1.0 / prod(kernel), dtype=torch.float64)
        return cls(weight, None, win, channels, x.example_shape)
