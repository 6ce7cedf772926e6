"""ONNX Gather with constant indices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model.onnx_node import OnnxNode, Unsupported
from core.model.ops.index_select import IndexSelect, positions_of


@dataclass(eq=False)
class Gather(IndexSelect):
    """Entries at constant indices along one axis (indices may repeat or be any shape)."""

    onnx_ops = ("Gather",)

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Gather":
        x = node.variable(0)
        indices = np.asarray(node.constant(1, "the indices")).astype(np.int64)
        axis = x.ir_axis(node.attr("axis", 0)) - (0 if x.batched else 1)
        size = x.shape[axis]
        if np.any(indices < -size) or np.any(indices >= size):
            raise Unsupported(f"indices out of range for axis of size {size}")
        return cls.selecting(node, x, np.take(positions_of(x), indices % size, axis=axis))
