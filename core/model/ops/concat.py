"""ONNX Concat of input-dependent tensors (constant parts become a fixed slab)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import bias_term, constant


@dataclass(eq=False)
class Concat(Affine):
    """Concatenate the variable inputs along IR `axis`, with zeros where constant parts go,
    then add `offset` (the constant parts in place, zero elsewhere) if there is one.

    `sizes[i]` is the extent of part i along the axis; `variable[i]` says whether part i
    is an input (in order) or constant (carried by `offset`).
    """

    onnx_ops = ("Concat",)
    axis: int
    sizes: tuple[int, ...]
    variable: tuple[bool, ...]
    offset: torch.Tensor | None = None

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        inputs = iter(xs)
        parts = []
        for size, is_var in zip(self.sizes, self.variable):
            if is_var:
                parts.append(next(inputs))
            else:
                shape = list(xs[0].shape)
                shape[self.axis] = size
                parts.append(xs[0].new_zeros(shape))
        y = torch.cat(parts, dim=self.axis)
        return y if self.offset is None else y + self.offset

    def interval(self, *xs: Interval) -> Interval:
        return Interval(self.forward(*(x.lower for x in xs)), self.forward(*(x.upper for x in xs)))

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        pieces = torch.split(A, self.sizes, dim=self.axis + 1)
        return [p for p, is_var in zip(pieces, self.variable) if is_var], bias_term(A, self.offset)

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Concat":
        first = node.variables[0] if node.variables else node.variable(0)
        if any(v.batched != first.batched for v in node.variables):
            raise Unsupported("some inputs have a batch axis and others do not")
        axis = first.ir_axis(node.attr("axis", 0))
        onnx_axis = axis - (0 if first.batched else 1)
        sizes, is_var, slabs = [], [], []
        for op in node.operands:
            sizes.append(op.shape[onnx_axis])
            is_var.append(not op.is_constant)
            slabs.append(None if not op.is_constant else op.value)
        offset = None
        if not all(is_var):
            example = list(first.example_shape)
            parts = []
            for size, slab in zip(sizes, slabs):
                example[axis - 1] = size
                value = torch.zeros(example, dtype=torch.float64) if slab is None else \
                    constant(slab).reshape(example)
                parts.append(value)
            offset = torch.cat(parts, dim=axis - 1).unsqueeze(0)
        return cls(axis, tuple(sizes), tuple(is_var), offset)
