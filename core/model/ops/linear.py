"""Fully connected layers: ONNX Gemm and MatMul with a constant matrix."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import bias_term, constant


# A matrix with at least this many entries, of which at most this share are nonzero, is
# multiplied in sparse form: tllverifybench's layers (8192 x 4096 with two nonzeros a row)
# spent 70% of a CROWN pass in dense products of zeros.
SPARSE_MIN_ENTRIES = 2 ** 16
SPARSE_MAX_DENSITY = 0.01


@dataclass(eq=False)
class Linear(Affine):
    """y = x Wᵀ + b on the last axis; `weight` is [out, in], `bias` [out] or None."""

    onnx_ops = ("Gemm", "MatMul")
    weight: torch.Tensor
    bias: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sparse is None:
            return F.linear(x, self.weight, self.bias)
        y = _times(x, self.sparse[0])
        return y if self.bias is None else y + self.bias

    def interval(self, x: Interval) -> Interval:
        center = self.forward(x.center)
        radius = F.linear(x.radius, self.weight.abs()) if self.sparse is None else _times(x.radius, self.sparse[1])
        return Interval(center - radius, center + radius)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        product = A.matmul(self.weight) if self.sparse is None else _times(A, self.sparse[2])
        return [product], bias_term(A, self.bias)

    @cached_property
    def sparse(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(Wᵀ, |W|ᵀ, W) in compressed sparse rows where W is large and nearly all zeros
        (`SPARSE_MIN_ENTRIES`, `SPARSE_MAX_DENSITY`), else None. Same values, and the same
        products up to summation order, at the cost of the nonzeros only."""
        W = self.weight
        if W.dim() != 2 or W.numel() < SPARSE_MIN_ENTRIES or int(torch.count_nonzero(W)) > SPARSE_MAX_DENSITY * W.numel():
            return None
        with warnings.catch_warnings():  # torch flags its CSR layout as beta; the products used here are stable
            warnings.simplefilter("ignore", UserWarning)
            return W.T.contiguous().to_sparse_csr(), W.abs().T.contiguous().to_sparse_csr(), W.to_sparse_csr()

    def describe(self) -> str:
        out, inp = self.weight.shape
        stored = "" if self.sparse is None else f" (sparse, {self.sparse[2].values().numel()} nonzeros)"
        return f"Linear {inp} -> {out}" + ("" if self.bias is None else " + bias") + stored

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Linear":
        return _gemm(node) if node.op_type == "Gemm" else _matmul(node)


def _times(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """x [..., k] times the sparse `matrix` [k, m]: [..., m], contiguous (a transposed
    result made every later elementwise pass several times slower), differentiable in x."""
    return (x.reshape(-1, x.shape[-1]) @ matrix).reshape(*x.shape[:-1], matrix.shape[1])


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
