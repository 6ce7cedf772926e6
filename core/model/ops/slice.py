"""ONNX Slice with constant starts, ends, axes and steps (negative steps included)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model.onnx_node import OnnxNode, Unsupported
from core.model.ops.index_select import IndexSelect, positions_of


@dataclass(eq=False)
class Slice(IndexSelect):
    """Entries of a strided box of one example."""

    onnx_ops = ("Slice",)

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Slice":
        x = node.variable(0)
        if node.opset < 10:
            starts, ends = node.attr("starts"), node.attr("ends")
            axes, steps = node.attr("axes"), None
        else:
            starts, ends = (node.constant(i, what) for i, what in ((1, "starts"), (2, "ends")))
            axes, steps = node.optional_constant(3, "axes"), node.optional_constant(4, "steps")
        starts = [int(v) for v in np.reshape(starts, -1)]
        ends = [int(v) for v in np.reshape(ends, -1)]
        rank = len(x.shape)
        axes = list(range(len(starts))) if axes is None else [int(a) % rank for a in np.reshape(axes, -1)]
        steps = [1] * len(starts) if steps is None else [int(s) for s in np.reshape(steps, -1)]
        if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
            raise Unsupported("starts, ends, axes and steps must have the same length and steps no 0")
        positions = positions_of(x)
        for axis, start, end, step in zip(axes, starts, ends, steps):
            picked = range(*slice(start, end, step).indices(x.shape[axis]))
            positions = np.take(positions, np.array(picked, dtype=np.int64), axis=axis)
        return cls.selecting(node, x, positions)
