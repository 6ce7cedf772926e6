"""Elementwise affine maps y = x * scale + shift (Mul/Div by constants, BatchNormalization).

Add/Sub with a constant (and input normalisation) also become this operator, and the
loader folds it into a preceding Linear or Conv, or a preceding ScaleShift, when it can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import bias_term, constant, elementwise_constant, sum_to_shape


@dataclass(eq=False)
class ScaleShift(Affine):
    """x * scale + shift; both constants broadcast against [batch, *in_shape]."""

    onnx_ops = ("Mul", "Div", "BatchNormalization")
    scale: torch.Tensor
    shift: torch.Tensor
    in_shape: tuple[int, ...]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def interval(self, x: Interval) -> Interval:
        center = self.forward(x.center)
        radius = x.radius * self.scale.abs()
        return Interval(center - radius, center + radius)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        return [sum_to_shape(A * self.scale, self.in_shape)], bias_term(A, self.shift)

    def describe(self) -> str:
        return f"ScaleShift scale{list(self.scale.shape)} shift{list(self.shift.shape)}"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "ScaleShift":
        if node.op_type == "BatchNormalization":
            return _batch_norm(node)
        x = node.variables[0] if node.variables else node.variable(0)
        if len(node.variables) == 2:
            raise Unsupported(f"{node.op_type} of two tensors that depend on the input is not affine")
        if node.op_type == "Div" and node.operand(0).is_constant:
            raise Unsupported("division by a tensor that depends on the input is not affine")
        c = node.constant(1 if node.operand(0) is x else 0, "the constant factor")
        if node.op_type == "Div":
            if np.any(c == 0):
                raise Unsupported("the divisor contains zeros")
            c = 1.0 / np.asarray(c, dtype=np.float64)
        return cls(elementwise_constant(x, c), torch.zeros((), dtype=torch.float64), x.example_shape)


def _batch_norm(node: OnnxNode) -> ScaleShift:
    x = node.variable(0)
    if node.attr("training_mode", 0):
        raise Unsupported("training_mode=1 is not supported (inference only)")
    if not x.batched or len(x.shape) < 2:
        raise Unsupported("the input needs a batch axis and a channel axis")
    gamma, beta, mean, var = (np.asarray(node.constant(i, what), dtype=np.float64) for i, what in
                              enumerate(("scale", "B", "mean", "var"), start=1))
    scale = gamma / np.sqrt(var + node.attr("epsilon", 1e-5))
    channel = (-1,) + (1,) * (len(x.shape) - 2)
    return ScaleShift(constant(scale.reshape(channel)), constant((beta - mean * scale).reshape(channel)),
                      x.example_shape)
