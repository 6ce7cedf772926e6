"""ONNX Add and Sub: of two input-dependent tensors (residual connections) or with a constant."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import elementwise_constant, sum_to_shape
from core.model.ops.scale_shift import ScaleShift


@dataclass(eq=False)
class Add(Affine):
    """y = signs[0] * x_0 + signs[1] * x_1 (broadcasting); Sub is signs (1, -1)."""

    onnx_ops = ("Add", "Sub")
    signs: tuple[float, float]
    in_shapes: tuple[tuple[int, ...], tuple[int, ...]]

    def _lift(self, t: torch.Tensor, i: int) -> torch.Tensor:
        """Input i with leading unit axes, so both inputs broadcast by example axes only."""
        rank = max(len(s) for s in self.in_shapes)
        return t.reshape(t.shape[0], *(1,) * (rank - len(self.in_shapes[i])), *self.in_shapes[i])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.signs[0] * self._lift(x, 0) + self.signs[1] * self._lift(y, 1)

    def interval(self, x: Interval, y: Interval) -> Interval:
        lower, upper = [], []
        for i, (sign, box) in enumerate(zip(self.signs, (x, y))):
            low, high = self._lift(box.lower, i), self._lift(box.upper, i)
            lower.append(low if sign > 0 else -high)
            upper.append(high if sign > 0 else -low)
        return Interval(lower[0] + lower[1], upper[0] + upper[1])

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        return [sum_to_shape(sign * A, shape) for sign, shape in zip(self.signs, self.in_shapes)], 0.0

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Add | ScaleShift":
        sign = 1.0 if node.op_type == "Add" else -1.0
        if len(node.variables) == 2:
            x, y = node.variables
            if x.batched != y.batched:
                raise Unsupported("one operand has a batch axis and the other does not")
            return cls((1.0, sign), (x.example_shape, y.example_shape))
        x = node.variables[0] if node.variables else node.variable(0)
        first = node.operand(0) is x
        c = node.constant(1 if first else 0, "the constant operand")
        shift = elementwise_constant(x, c)
        one = torch.ones((), dtype=torch.float64)
        if first:
            return ScaleShift(one, sign * shift, x.example_shape)
        return ScaleShift(sign * one, shift, x.example_shape)
