"""ReLU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.operator import Activation, Relaxation
from core.model.ops.leaky_relu import hinge_alpha_init, hinge_relaxation


@dataclass(eq=False)
class Relu(Activation):
    """max(x, 0), relaxed by the triangle (upper) and a slope in [0, 1] (lower)."""

    onnx_ops = ("Relu",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)

    def interval(self, x: Interval) -> Interval:
        return Interval(torch.relu(x.lower), torch.relu(x.upper))

    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        """Triangle upper bound; lower slope `alpha` in [0, 1] (default: adaptive 0 or 1)."""
        return hinge_relaxation(bounds, 0.0, alpha)

    def alpha_init(self, bounds: Interval) -> torch.Tensor:
        return hinge_alpha_init(bounds)
