"""Shape-only changes of one example: ONNX Reshape, Flatten, Squeeze, Unsqueeze."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import monotone_interval


@dataclass(eq=False)
class Reshape(Affine):
    """Reshape each example from `in_shape` to `shape` (the batch axis is untouched)."""

    onnx_ops = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")
    shape: tuple[int, ...]
    in_shape: tuple[int, ...]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def interval(self, x: Interval) -> Interval:
        return monotone_interval(self.forward, x)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        return [A.reshape(A.shape[0], A.shape[1], *self.in_shape)], 0.0

    def describe(self) -> str:
        return f"Reshape {list(self.in_shape)} -> {list(self.shape)}"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Reshape":
        x = node.variable(0)
        out = _ONNX_SHAPE[node.op_type](node, x.shape)
        if prod(out) != prod(x.shape):
            raise Unsupported(f"cannot reshape {list(x.shape)} to {list(out)}")
        # ONNX batch size is 1 here, so a leading 1 can stand for the batch axis.
        node.out_batched = x.batched and len(out) >= 1 and out[0] == 1
        return cls(tuple(out[1:] if node.out_batched else out), x.example_shape)


def _axes(node: OnnxNode) -> list[int] | None:
    if node.opset >= 13:
        axes = node.optional_constant(1, "axes")
        return None if axes is None else [int(a) for a in np.asarray(axes).reshape(-1)]
    axes = node.attr("axes")
    return None if axes is None else list(axes)


def _reshape(node: OnnxNode, shape: tuple[int, ...]) -> tuple[int, ...]:
    target = [int(d) for d in np.asarray(node.constant(1, "the target shape")).reshape(-1)]
    if not node.attr("allowzero", 0):
        target = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(target)]
    if target.count(-1) > 1:
        raise Unsupported(f"target shape {target} has more than one -1")
    if -1 in target:
        known = prod(d for d in target if d != -1)
        if known == 0 or prod(shape) % known:
            raise Unsupported(f"cannot reshape {list(shape)} to {target}")
        target[target.index(-1)] = prod(shape) // known
    return tuple(target)


def _flatten(node: OnnxNode, shape: tuple[int, ...]) -> tuple[int, ...]:
    axis = node.attr("axis", 1)
    axis = axis + len(shape) if axis < 0 else axis
    return (prod(shape[:axis]), prod(shape[axis:]))


def _squeeze(node: OnnxNode, shape: tuple[int, ...]) -> tuple[int, ...]:
    axes = _axes(node)
    if axes is None:
        return tuple(d for d in shape if d != 1)
    axes = {a % len(shape) for a in axes}
    if any(shape[a] != 1 for a in axes):
        raise Unsupported(f"cannot squeeze axes {sorted(axes)} of shape {list(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _unsqueeze(node: OnnxNode, shape: tuple[int, ...]) -> tuple[int, ...]:
    axes = _axes(node)
    if axes is None:
        raise Unsupported("axes are required")
    rank = len(shape) + len(axes)
    axes = {a % rank for a in axes}
    dims = iter(shape)
    return tuple(1 if i in axes else next(dims) for i in range(rank))


_ONNX_SHAPE = {"Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze}
