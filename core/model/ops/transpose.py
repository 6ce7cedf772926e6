"""ONNX Transpose of the axes of one example."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Affine
from core.model.ops.affine_rules import monotone_interval


@dataclass(eq=False)
class Transpose(Affine):
    """Permute IR axes by `perm` (a permutation of 0..rank-1 that keeps the batch axis 0 first)."""

    onnx_ops = ("Transpose",)
    perm: tuple[int, ...]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.perm)

    def interval(self, x: Interval) -> Interval:
        return monotone_interval(self.forward, x)

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        inverse = sorted(range(len(self.perm)), key=self.perm.__getitem__)
        return [A.permute((0,) + tuple(1 + i for i in inverse))], 0.0

    def describe(self) -> str:
        return f"Transpose {list(self.perm[1:])}"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Transpose":
        x = node.variable(0)
        rank = len(x.shape)
        perm = list(node.attr("perm", range(rank - 1, -1, -1)))
        if sorted(perm) != list(range(rank)):
            raise Unsupported(f"perm {perm} is not a permutation of {rank} axes")
        if x.batched and perm[0] != 0:
            raise Unsupported(f"perm {perm} moves the batch axis")
        return cls((0,) + tuple(x.ir_axis(p) for p in perm[x.batched:]))
