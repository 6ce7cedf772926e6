"""Fully connected layers: ONNX Gemm and MatMul with a constant matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import bias_term, constant


@dataclass(eq=False)
class Linear(Affine):
    """y = x Wᵀ + b on the last axis; `weight` is [out, in], `bias` [out] or None."""

    onnx_ops = ("Gemm", "MatMul")
    weight: torch.Tensor
    bias: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def interval(self, x: Interval) -> Interval:
        center = F.linear(x.center, self.weight, self.bias)
        radius = F.linear(x.radius, self.weight.abs())
        return Interval(center - radius, center + radius)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        return [A.matmul(self.weight)], bias_term(A, self.bias)

    def describe(self) -> str:
        out, inp = self.weight.shape
        return f"Linear {inp} -> {out}" + ("" if self.bias is None else " + bias")

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Linear":
        return _gemm(node) if node.op_type == "Gemm" else _matmul(node)


def _gemm(node: OnnxNode) -> Linear:
    node.variable(0)
    if node.attr("transA", 0):
        raise Unsupported("transA=1 on the variable input is not supported")
    b = node.constant(1, "B")
    weight = (b if node.attr("transB", 0) else b.T) * node.attr("alpha", 1.0)
    c = node.optional_constant(2, "C")
    bias = None
    if c is not None:
        if c.size not in (1, weight.shape[0]) or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
            raise Unsupported(f"bias C of shape {list(c.shape)} must be a row of length {weight.shape[0]}")
        bias = constant(np.broadcast_to(c.reshape(-1), (weight.shape[0],)) * node.attr("beta", 1.0))
    return Linear(constant(weight), bias)


def _matmul(node: OnnxNode) -> Linear:
    left, right = node.operand(0), node.operand(1)
    if not left.is_constant and not right.is_constant:
        raise Unsupported("a product of two tensors that depend on the input is not affine")
    if right.is_constant:
        if right.value.ndim != 2:
            raise Unsupported(f"the constant matrix must be 2-D, it has shape {list(right.value.shape)}")
        return Linear(constant(right.value.T))
    if left.value.ndim != 2 or len(right.shape) != 1:
        raise Unsupported("a constant left operand is only supported as matrix @ vector")
    return Linear(constant(left.value))
