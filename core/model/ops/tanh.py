"""Tanh."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ops.sigmoid import SShaped


@dataclass(eq=False)
class Tanh(SShaped):
    """tanh(x), relaxed by tangents and secants (see `SShaped`)."""

    onnx_ops = ("Tanh",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cosh(x).pow(-2)  # no cancellation in 1 - tanh^2 for large |x|
