"""The operator protocol: one class per ONNX operator family.

Every operator knows three things about itself:

- `forward(*xs)`: the concrete function on batched tensors [batch, *shape];
- `interval(*boxes)`: interval bound propagation (IBP);
- `backward(lA, uA, inputs, alpha)`: one step of backward linear bound propagation
  (CROWN). `lA` / `uA` are the coefficients of the bound being built with respect to
  this operator's output, shaped [spec, batch, *out_shape] (either may be None when only
  one side is wanted). It returns the coefficients with respect to each variable input
  and the constant terms that this step adds, shaped [spec, batch].

Two base classes cover almost every operator: `Affine` (the output is an affine
function of the inputs; CROWN passes coefficients through the transposed map) and
`Activation` (elementwise nonlinearity; CROWN uses a linear lower and upper relaxation
over the input interval). Operators are dataclasses whose tensor fields are constants.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch

from core.model.ir import Interval


@dataclass
class Backward:
    """What one CROWN step through an operator produces.

    `coefficients[i]` is (lA_i, uA_i) for the operator's i-th variable input;
    `lower_bias` / `upper_bias` are [spec, batch] constants added to the bound.
    """

    coefficients: list[tuple[torch.Tensor | None, torch.Tensor | None]]
    lower_bias: torch.Tensor | float = 0.0
    upper_bias: torch.Tensor | float = 0.0


@dataclass(eq=False)
class Operator(ABC):
    """Base class; subclasses list the ONNX op types they implement in `onnx_ops`."""

    onnx_ops: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """The function itself on batched inputs."""

    @abstractmethod
    def interval(self, *xs: Interval) -> Interval:
        """Sound elementwise bounds on the output given boxes around the inputs."""

    @abstractmethod
    def backward(self, lA: torch.Tensor | None, uA: torch.Tensor | None,
                 inputs: Sequence[Interval], alpha: torch.Tensor | None = None) -> Backward:
        """One CROWN step: coefficients on the output -> coefficients on the inputs."""

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "Operator":
        """A copy with floating tensor constants moved to `device` / cast to `dtype`."""
        changes = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                cast = dtype if (dtype is not None and value.is_floating_point()) else None
                changes[f.name] = value.to(device=device, dtype=cast)
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """Short human-readable summary of the operator's constants (for `inspect`)."""
        return type(self).__name__


@dataclass(eq=False)
class Affine(Operator):
    """An operator whose output is affine in its variable inputs: y = L(x_1..x_k) + b.

    Subclasses implement `forward` and `linear_backward` (the transposed map applied to
    coefficient tensors, plus the bias term); `backward` then needs no relaxation, and
    the same map serves the lower and the upper bound.
    """

    @abstractmethod
    def linear_backward(self, A: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        """Map coefficients A [spec, batch, *out] to ([A_i per input], bias [spec, batch])."""

    def backward(self, lA, uA, inputs, alpha=None) -> Backward:
        lower = self.linear_backward(lA) if lA is not None else None
        upper = self.linear_backward(uA) if uA is not None else None
        n = len(inputs)
        coefficients = [(lower[0][i] if lower else None, upper[0][i] if upper else None) for i in range(n)]
        return Backward(coefficients, lower[1] if lower else 0.0, upper[1] if upper else 0.0)


@dataclass
class Relaxation:
    """Elementwise linear bounds `lw*x + lb <= f(x) <= uw*x + ub` valid on [l, u]; an
    offset may be the number 0.0 where every line passes through the origin (a ReLU's
    lower lines), which spares a backward pass a product and a sum over its coefficients."""

    lw: torch.Tensor
    lb: torch.Tensor | float
    uw: torch.Tensor
    ub: torch.Tensor | float


@dataclass(eq=False)
class Activation(Operator):
    """An elementwise nonlinearity y = f(x) with one variable input.

    Subclasses implement `forward`, `interval` and `relax`; `alpha`, when given, are
    optimisable relaxation parameters (α-CROWN) shaped like [spec, batch, *shape] and
    constrained to `alpha_range` (every value in it gives a sound relaxation, so an
    optimiser may move them freely and project back by clamping). `alpha_init` gives
    [batch, *shape]; the bounding engine adds the spec dimension.
    """

    alpha_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    @abstractmethod
    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        """Linear relaxation over the input interval `bounds`."""

    def alpha_init(self, bounds: Interval) -> torch.Tensor | None:
        """Initial optimisable parameters, or None when the relaxation has none."""
        return None

    def backward(self, lA, uA, inputs, alpha=None) -> Backward:
        """A coefficient >= 0 takes the lower line for a lower bound (the upper line for an
        upper bound), a negative one the other line (`_through_lines`). This elementwise
        step dominates a CROWN pass, and it runs over [spec, batch, *shape] tensors, so
        every pass over them counts."""
        r = self.relax(inputs[0], alpha)
        new_l = new_u = None
        lbias = ubias = 0.0
        if lA is not None:
            new_l, lbias = _through_lines(lA, r.lw, r.lb, r.uw, r.ub)
        if uA is not None:
            new_u, ubias = _through_lines(uA, r.uw, r.ub, r.lw, r.lb)
        return Backward([(new_l, new_u)], lbias, ubias)


def _through_lines(A: torch.Tensor, w_pos, b_pos, w_neg, b_neg) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients [spec, batch, *shape] through the line (w_pos, b_pos) where A >= 0 and
    (w_neg, b_neg) elsewhere: the new coefficients A * w and the bias sum(A * b) [spec, batch].

    As max(A, 0) * w_pos + min(A, 0) * w_neg: one of the two terms is exactly 0, so the
    values are those of picking each line by `where`, at half the time (tllverifybench N=64,
    [3000, 2, 8192] float32: 0.97 s -> 0.48 s; `where` broadcasting the lines over the spec
    axis was the slowest pass)."""
    positive = A.clamp(min=0)
    negative = A - positive
    bias = _offset_sum(positive, b_pos) + _offset_sum(negative, b_neg)
    out = positive * w_pos
    return out.addcmul_(negative, w_neg), bias


def _offset_sum(A: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor | float:
    """sum over an example of A * b, [spec, batch] (each row summed on its own, so a
    domain's bound does not depend on the batch it is bounded in); 0.0 for offsets 0.0."""
    if isinstance(b, float) and b == 0.0:
        return 0.0
    return (A * b).flatten(2).sum(-1)
