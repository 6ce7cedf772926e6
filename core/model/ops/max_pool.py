"""MaxPool over 2-D feature maps, with its own linear relaxation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from core.model.ir import Interval
from core.model.operator import Backward, Operator


@dataclass(eq=False)
class MaxPool(Operator):
    """Max over windows of [batch, channels, H, W] maps, ONNX attribute conventions:
    `pads` is (top, left, bottom, right); padded cells never win.

    Linear relaxation per window: below by the input with the largest lower bound
    (y >= x_j); above by that same input when its lower bound reaches every other
    input's upper bound (then y = x_j), otherwise by the constant max of upper bounds.
    """

    onnx_ops = ("MaxPool",)
    kernel_shape: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        fields = {"kernel_shape": 2, "strides": 2, "pads": 4, "dilations": 2}
        for name, length in fields.items():
            value = tuple(int(v) for v in getattr(self, name))
            if len(value) != length or any(v < 0 for v in value) or (name != "pads" and 0 in value):
                raise ValueError(f"MaxPool supports 2-D pooling only: {name}={getattr(self, name)} "
                                 f"must be {length} {'non-negative' if name == 'pads' else 'positive'} integers")
            setattr(self, name, value)

    def _geometry(self, height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Output size and the extra end padding that ceil mode needs, per spatial axis."""
        out, extra = [], []
        for size, k, s, d, begin, end in zip((height, width), self.kernel_shape, self.strides, self.dilations,
                                             self.pads[:2], self.pads[2:]):
            span = size + begin + end - d * (k - 1) - 1
            if span < 0:
                raise ValueError(f"MaxPool window {self.kernel_shape} (dilation {self.dilations}) "
                                 f"is larger than the padded {height}x{width} input")
            n = (math.ceil if self.ceil_mode else math.floor)(span / s) + 1
            if self.ceil_mode and (n - 1) * s >= size + begin:
                n -= 1  # a window may not start inside the end padding
            out.append(n)
            extra.append(max(0, (n - 1) * s + d * (k - 1) + 1 - (size + begin + end)))
        return (out[0], out[1]), (extra[0], extra[1])

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        """[batch, C, H, W] -> [batch, C, window cells, output positions], padding = -inf."""
        if x.dim() != 4:
            raise ValueError(f"MaxPool expects [batch, channels, H, W] inputs, got shape {tuple(x.shape)}")
        _, extra = self._geometry(x.shape[2], x.shape[3])
        top, left, bottom, right = self.pads
        padded = F.pad(x, (left, right + extra[1], top, bottom + extra[0]), value=-math.inf)
        cols = F.unfold(padded, self.kernel_shape, dilation=self.dilations, stride=self.strides)
        return cols.reshape(x.shape[0], x.shape[1], -1, cols.shape[-1])

    def _to_maps(self, values: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """[batch, C, output positions] -> [batch, C, Ho, Wo]."""
        (ho, wo), _ = self._geometry(height, width)
        return values.reshape(*values.shape[:2], ho, wo)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._to_maps(self._windows(x).amax(dim=2), x.shape[2], x.shape[3])

    def interval(self, x: Interval) -> Interval:
        return Interval(self.forward(x.lower), self.forward(x.upper))

    def backward(self, lA: torch.Tensor | None, uA: torch.Tensor | None,
                 inputs: Sequence[Interval], alpha: torch.Tensor | None = None) -> Backward:
        box = inputs[0]
        lower_cols, upper_cols = self._windows(box.lower), self._windows(box.upper)
        best_lower, winner = lower_cols.max(dim=2, keepdim=True)
        onehot = torch.zeros_like(lower_cols).scatter_(2, winner, 1.0)
        others_upper = upper_cols.masked_fill(onehot.bool(), -math.inf).amax(dim=2, keepdim=True)
        dominant = (best_lower >= others_upper).to(box.lower.dtype)  # [batch, C, 1, L]
        ceiling = upper_cols.amax(dim=2, keepdim=True)
        shape = box.lower.shape

        def step(A: torch.Tensor | None, lower_side: bool):
            if A is None:
                return None, 0.0
            cols = A.flatten(3).unsqueeze(3)  # [spec, batch, C, 1, L]
            below, above = (cols.clamp(min=0), cols.clamp(max=0)) if lower_side else (cols.clamp(max=0),
                                                                                       cols.clamp(min=0))
            # `below` uses y >= x_j, `above` uses y <= x_j (dominant) or y <= ceiling
            on_winner = (below + above * dominant) * onehot
            bias = (above * (1 - dominant) * ceiling).flatten(2).sum(-1)
            return self._fold(on_winner, shape), bias

        new_l, lbias = step(lA, True)
        new_u, ubias = step(uA, False)
        return Backward([(new_l, new_u)], lbias, ubias)

    def _fold(self, cols: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Sum window-cell coefficients [spec, batch, C, K, L] back onto the input [spec, batch, C, H, W]."""
        spec, batch, channels = cols.shape[:3]
        height, width = shape[2], shape[3]
        _, extra = self._geometry(height, width)
        top, left, bottom, right = self.pads
        size = (height + top + bottom + extra[0], width + left + right + extra[1])
        maps = F.fold(cols.reshape(spec * batch, -1, cols.shape[-1]), size, self.kernel_shape,
                      dilation=self.dilations, stride=self.strides)
        maps = maps[:, :, top:top + height, left:left + width]
        return maps.reshape(spec, batch, channels, height, width)

    def describe(self) -> str:
        return (f"MaxPool(kernel={self.kernel_shape}, strides={self.strides}, pads={self.pads}, "
                f"dilations={self.dilations}, ceil_mode={self.ceil_mode})")
