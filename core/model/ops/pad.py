"""ONNX Pad in constant mode (negative pads crop)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import monotone_interval, sum_examples


@dataclass(eq=False)
class Pad(Affine):
    """Pad one example with `value`; `pads` is in torch.nn.functional.pad order."""

    onnx_ops = ("Pad",)
    pads: tuple[int, ...]
    value: float = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, value=self.value)

    def interval(self, x: Interval) -> Interval:
        return monotone_interval(self.forward, x)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        inner = F.pad(A, tuple(-p for p in self.pads))
        if self.value == 0:
            return [inner], 0.0
        return [inner], self.value * (sum_examples(A) - sum_examples(inner))

    def describe(self) -> str:
        return f"Pad {list(self.pads)} value {self.value}"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Pad":
        x = node.variable(0)
        if node.attr("mode", "constant") != "constant":
            raise Unsupported(f"mode '{node.attr('mode')}' is not supported (only 'constant')")
        if node.opset < 11:
            pads, value, axes = node.attr("pads"), node.attr("value", 0.0), None
        else:
            pads = node.constant(1, "pads")
            value = node.optional_constant(2, "constant_value")
            axes = node.optional_constant(3, "axes")
        pads = [int(p) for p in np.reshape(pads, -1)]
        rank = len(x.shape)
        axes = list(range(rank)) if axes is None else [int(a) % rank for a in np.reshape(axes, -1)]
        if len(pads) != 2 * len(axes):
            raise Unsupported(f"{len(pads)} pads for {len(axes)} axes")
        per_axis = {a: (pads[i], pads[len(axes) + i]) for i, a in enumerate(axes)}
        if x.batched and per_axis.get(0, (0, 0)) != (0, 0):
            raise Unsupported("it would pad the batch axis")
        ir_rank = len(x.example_shape) + 1
        torch_pads = []
        for ir in reversed(range(1, ir_rank)):
            torch_pads += per_axis.get(ir - (0 if x.batched else 1), (0, 0))
        return cls(tuple(torch_pads), float(0.0 if value is None else np.reshape(value, -1)[0]))
