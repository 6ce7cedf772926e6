"""ONNX Identity and inference-time Dropout: the output is the input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.model.ir import Interval
from core.model.onnx_node import Alias, OnnxNode, Unsupported
from core.model.operator import Affine


@dataclass(eq=False)
class Identity(Affine):
    """y = x. The loader never keeps this node: `from_onnx` aliases the output to the input."""

    onnx_ops = ("Identity", "Dropout")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def interval(self, x: Interval) -> Interval:
        return x

    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        return [A], 0.0

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> Alias:
        node.variable(0)
        if node.op_type == "Dropout":
            training = node.optional_constant(2, "training_mode")
            if node.attr("is_test", 1) == 0 or (training is not None and bool(np.reshape(training, -1)[0])):
                raise Unsupported("training-mode dropout is random; only inference mode is supported")
        return Alias(0)
