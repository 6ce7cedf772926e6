"""Operators that pick entries of one example by position (base of Slice and Gather)."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Operand, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import monotone_interval


@dataclass(eq=False)
class IndexSelect(Affine):
    """y (flattened) = x (flattened)[index] per example; `index` is int64 [prod(shape)]."""

    index: torch.Tensor
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1).index_select(1, self.index).reshape(x.shape[0], *self.shape)

    def interval(self, x: Interval) -> Interval:
        return monotone_interval(self.forward, x)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        spec, batch = A.shape[:2]
        flat = A.new_zeros(spec, batch, prod(self.in_shape))
        flat.index_add_(2, self.index, A.reshape(spec, batch, -1))
        return [flat.reshape(spec, batch, *self.in_shape)], 0.0

    def describe(self) -> str:
        return f"{type(self).__name__} {list(self.in_shape)} -> {list(self.shape)}"

    @classmethod
    def selecting(cls, node: OnnxNode, x: Operand, positions: np.ndarray) -> "IndexSelect":
        """The operator taking, for each ONNX output entry, the input entry whose flat
        position `positions` holds (computed on the ONNX shape, batch size 1)."""
        node.out_batched = x.batched and positions.ndim >= 1 and positions.shape[0] == 1
        if x.batched and not node.out_batched:
            raise Unsupported("it would select along the batch axis")
        shape = positions.shape[1:] if node.out_batched else positions.shape
        if 0 in shape:
            raise Unsupported("the result is empty")
        index = torch.as_tensor(positions.reshape(-1).astype(np.int64))
        return cls(index, x.example_shape, tuple(shape))


def positions_of(x: Operand) -> np.ndarray:
    """Flat positions of every entry of one example, laid out in x's ONNX shape."""
    return np.arange(prod(x.shape), dtype=np.int64).reshape(x.shape)
