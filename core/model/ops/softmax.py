"""Softmax along one axis, with exact interval bounds and a mean-value linear relaxation.

Softmax is not elementwise, so it is its own `Operator` (one variable input, as the
bounding engine's nonlinear nodes must have) rather than an `Activation`. The bounds of
each output over a box are exact; the linear bounds come from the mean-value theorem
with an interval enclosure of the Jacobian, which makes them tight for the small boxes
around test points that distillation certificates ask about.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.onnx_node import OnnxNode, Unsupported
from core.model.operator import Backward, Operator


def _exclusive_logsumexp(x: torch.Tensor) -> torch.Tensor:
    """log sum_{j != i} exp(x_j) for every i along the last axis (-inf where nothing is left)."""
    n = x.shape[-1]
    others = x.unsqueeze(-2).expand(*x.shape, n)  # [..., i, j] = x_j
    own = torch.eye(n, dtype=torch.bool, device=x.device)
    return torch.logsumexp(others.masked_fill(own, float("-inf")), dim=-1)


@dataclass(eq=False)
class Softmax(Operator):
    """y_i = exp(x_i) / sum_j exp(x_j) along IR `axis` (batch = 0).

    Interval: y_i = sigmoid(x_i - log sum_{j != i} exp(x_j)) increases in x_i and
    decreases in every other x_j, so its extremes over a box are at two corners, exactly.
    Linear bounds (`planes`): y_i(x) = y_i(x0) + J_i(ξ)·(x - x0) for some ξ in the box,
    x0 its centre; the Jacobian J_ij = y_i(δ_ij - y_j) lies in an interval computed from
    the bounds on y, so with slope g = the middle of that interval, y_i lies within
    ±sum_j half-width_ij · radius_j of the plane through y_i(x0). Where that band is wider
    than the interval of y_i, the constant bounds are used instead.
    """

    onnx_ops = ("Softmax",)
    axis: int = -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=self.axis)

    def interval(self, x: Interval) -> Interval:
        lo, hi = x.lower.movedim(self.axis, -1), x.upper.movedim(self.axis, -1)
        lower = torch.sigmoid(lo - _exclusive_logsumexp(hi))
        upper = torch.sigmoid(hi - _exclusive_logsumexp(lo))
        return Interval(lower.movedim(-1, self.axis), upper.movedim(-1, self.axis))

    def planes(self, bounds: Interval) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Slopes G [..., i, j] and offsets (lower, upper) [..., i] with the softmax axis last:
        G_i·x + lower_i <= y_i(x) <= G_i·x + upper_i for x in `bounds`."""
        lo, hi = bounds.lower.movedim(self.axis, -1), bounds.upper.movedim(self.axis, -1)
        y = self.interval(bounds)
        ylo, yhi = y.lower.movedim(self.axis, -1), y.upper.movedim(self.axis, -1)
        center, radius = (lo + hi) / 2, (hi - lo) / 2
        # off the diagonal J_ij = -y_i y_j, in [-min(yhi_i yhi_j, 1/4), -ylo_i ylo_j] (y_i + y_j <= 1)
        j_lo = -(yhi.unsqueeze(-1) * yhi.unsqueeze(-2)).clamp(max=0.25)
        j_hi = -(ylo.unsqueeze(-1) * ylo.unsqueeze(-2))
        # on it y_i(1 - y_i): concave, least at an end, greatest at 1/2 when that lies inside
        ends = torch.minimum(ylo * (1 - ylo), yhi * (1 - yhi))
        top = torch.where((ylo <= 0.5) & (yhi >= 0.5), torch.full_like(ylo, 0.25),
                          torch.maximum(ylo * (1 - ylo), yhi * (1 - yhi)))
        diagonal = torch.eye(lo.shape[-1], dtype=torch.bool, device=lo.device)
        j_lo = torch.where(diagonal, torch.diag_embed(ends), j_lo)
        j_hi = torch.where(diagonal, torch.diag_embed(top), j_hi)
        slope, half = (j_lo + j_hi) / 2, (j_hi - j_lo) / 2
        band = (half * radius.unsqueeze(-2)).sum(-1)
        at_center = torch.softmax(center, dim=-1) - (slope * center.unsqueeze(-2)).sum(-1)
        use_plane = (2 * band < yhi - ylo).unsqueeze(-1)
        slope = torch.where(use_plane, slope, torch.zeros_like(slope))
        lower = torch.where(use_plane[..., 0], at_center - band, ylo)
        upper = torch.where(use_plane[..., 0], at_center + band, yhi)
        return slope, lower, upper

    def backward(self, lA, uA, inputs, alpha=None) -> Backward:
        slope, lower, upper = self.planes(inputs[0])
        new_l = new_u = None
        lbias = ubias = 0.0
        if lA is not None:
            new_l, lbias = self._through(lA, slope, lower, upper)
        if uA is not None:
            new_u, ubias = self._through(uA, slope, upper, lower)
        return Backward([(new_l, new_u)], lbias, ubias)

    def _through(self, A: torch.Tensor, slope: torch.Tensor, pos_offset: torch.Tensor,
                 neg_offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coefficients A [spec, batch, *shape] on y -> on x (both planes share their slope),
        and the bias [spec, batch]: a coefficient >= 0 takes `pos_offset`, a negative one the other."""
        axis = self.axis + 1 if self.axis >= 0 else self.axis  # A has a spec axis in front
        a = A.movedim(axis, -1)  # [spec, batch, ..., i]
        coefficients = (a.unsqueeze(-1) * slope).sum(-2)  # sum_i a_i G_ij
        offsets = a.clamp(min=0) * pos_offset + a.clamp(max=0) * neg_offset
        return coefficients.movedim(-1, axis), offsets.flatten(2).sum(-1)

    def describe(self) -> str:
        return f"Softmax(axis={self.axis})"

    @classmethod
    def from_onnx(cls, node: OnnxNode) -> "Softmax":
        if len(node.variables) != 1 or len(node.operands) != 1:
            raise Unsupported("expects exactly one input, which depends on the network input")
        x = node.variable(0)
        axis = x.ir_axis(node.attr("axis", -1 if node.opset >= 13 else 1))
        # before opset 13 Softmax flattens every axis from `axis` on: the same only on the last axis
        if node.opset < 13 and axis != len(x.example_shape):
            raise Unsupported(f"opset {node.opset} Softmax over several axes (from axis {axis}) is not supported")
        return cls(axis)
