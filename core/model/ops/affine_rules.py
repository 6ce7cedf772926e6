"""Small rules shared by the affine operators (not an operator itself)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from core.model.ir import Interval
from core.model.onnx_node import Operand, Unsupported


def constant(value: np.ndarray) -> torch.Tensor:
    """An ONNX constant as a float64 tensor (the loader casts the graph afterwards)."""
    return torch.from_numpy(np.array(value, dtype=np.float64))  # a writable, owned copy


def sum_examples(t: torch.Tensor) -> torch.Tensor:
    """[spec, batch, *shape] -> [spec, batch], summing one example's entries."""
    return t.reshape(t.shape[0], t.shape[1], -1).sum(-1)


def bias_term(A: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor | float:
    """sum over an example of A * bias, for A [spec, batch, *out] and bias broadcastable to
    out: one matrix-vector product, without the [spec, batch, *out] temporary of A * bias."""
    if bias is None:
        return 0.0
    if bias.dim() > A.dim() - 2:  # a bias with batch axes of its own
        return sum_examples(A * bias)
    return A.reshape(A.shape[0], A.shape[1], -1) @ bias.expand(A.shape[2:]).reshape(-1)


def sum_to_shape(A: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Coefficients on a broadcast output [spec, batch, *out] -> on an input of `shape`."""
    lead = A.dim() - 2 - len(shape)
    if lead:
        A = A.sum(dim=tuple(range(2, 2 + lead)))
    dims = tuple(2 + i for i, n in enumerate(shape) if n == 1 and A.shape[2 + i] != 1)
    return A.sum(dim=dims, keepdim=True) if dims else A


def monotone_interval(fn: Callable[[torch.Tensor], torch.Tensor], x: Interval) -> Interval:
    """Bounds of an operator that only moves, copies or drops entries."""
    return Interval(fn(x.lower), fn(x.upper))


def elementwise_constant(var: Operand, value: np.ndarray) -> torch.Tensor:
    """An ONNX constant broadcast against `var`, reshaped to broadcast against the IR
    tensor [batch, *example] in the same way."""
    value = np.asarray(value)
    if value.ndim > len(var.shape):
        raise Unsupported(f"a constant of shape {list(value.shape)} has more axes than the input of "
                          f"shape {list(var.shape)}")
    if var.batched:
        if value.ndim == len(var.shape) and value.shape[0] != 1:
            raise Unsupported(f"a constant of shape {list(value.shape)} would broadcast along the batch "
                              f"axis of the input of shape {list(var.shape)}")
        return constant(value)
    return constant(value.reshape((1,) + value.shape))
