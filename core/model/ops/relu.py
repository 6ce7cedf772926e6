"""ReLU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.operator import Activation, Relaxation


@dataclass(eq=False)
class Relu(Activation):
    """max(x, 0), relaxed by the triangle (upper) and a slope in [0, 1] (lower)."""

    onnx_ops = ("Relu",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)

    def interval(self, x: Interval) -> Interval:
        return Interval(torch.relu(x.lower), torch.relu(x.upper))

    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        raise NotImplementedError("ReLU relaxation comes with the bounding engine")
