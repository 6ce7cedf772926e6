"""Sigmoid, and the tangent/secant relaxation shared by S-shaped functions (Tanh)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.operator import Activation, Relaxation

# Below this input width the constant bounds f(l) <= f(x) <= f(u) are used: a secant
# over a tinier interval loses its precision to cancellation.
_TINY_WIDTH = 1e-6
_BISECTION_STEPS = 40


@dataclass(eq=False)
class SShaped(Activation):
    """An increasing function, convex on x <= 0 and concave on x >= 0, with g(x) = -f(-x)
    of the same shape (sigmoid, tanh).

    Upper line over [l, u]: the secant where f is convex there; a tangent at a point of
    [l, u] where it is concave; when the interval crosses 0, the tangent at the d >= 0
    whose tangent passes through (l, f(l)) (or any larger d), or the secant when that
    tangent point would lie beyond u. The lower line is the upper line of g over [-u, -l],
    reflected. The optimisable parameter in [0, 1] moves the tangent point from its
    default end of the valid range toward u (upper side) or l (lower side).
    """

    @abstractmethod
    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """f'(x)."""

    def reflected(self, x: torch.Tensor) -> torch.Tensor:
        """g(x) = -f(-x)."""
        return -self.forward(-x)

    def interval(self, x: Interval) -> Interval:
        return Interval(self.forward(x.lower), self.forward(x.upper))

    def alpha_init(self, bounds: Interval) -> torch.Tensor:
        crossing = (bounds.lower < 0) & (bounds.upper > 0)
        return torch.where(crossing, torch.zeros_like(bounds.lower), torch.full_like(bounds.lower, 0.5))

    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        l, u = bounds.lower, bounds.upper
        if alpha is None:
            alpha = self.alpha_init(bounds)
        uw, ub = self._upper_line(self.forward, l, u, alpha)
        gw, gb = self._upper_line(self.reflected, -u, -l, alpha)
        # g(y) <= gw*y + gb on [-u, -l]  <=>  f(x) >= gw*x - gb on [l, u]
        lw, lb = gw, -gb
        tiny = (u - l) <= _TINY_WIDTH
        zero = torch.zeros_like(lw)
        return Relaxation(lw=torch.where(tiny, zero, lw), lb=torch.where(tiny, self.forward(l), lb),
                          uw=torch.where(tiny, zero, uw), ub=torch.where(tiny, self.forward(u), ub))

    def _upper_line(self, f, l: torch.Tensor, u: torch.Tensor, alpha: torch.Tensor):
        """Slope and intercept of a line above f on [l, u] (f = self.forward or its reflection)."""
        fl, fu = f(l), f(u)
        width = (u - l).clamp(min=_TINY_WIDTH)
        secant_w = (fu - fl) / width
        secant_b = fl - secant_w * l
        # tangent through (l, f(l)) exists inside [0, u] iff the tangent at u passes above it
        root = self._through_left_end(f, l, u)
        crossing = (l < 0) & (u > 0)
        concave = l >= 0
        start = torch.where(crossing, root, l)
        point = start + alpha * (u - start)
        slope = self.derivative(point)  # f' is even for both f and its reflection
        tangent_b = f(point) - slope * point
        use_tangent = concave | (crossing & (self._tangent_gap(f, u, l) >= 0))
        return torch.where(use_tangent, slope, secant_w), torch.where(use_tangent, tangent_b, secant_b)

    def _tangent_gap(self, f, d: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """How far the tangent at d passes above (l, f(l)): f(d) + f'(d)(l - d) - f(l)."""
        return f(d) + self.derivative(d) * (l - d) - f(l)

    @torch.no_grad()
    def _through_left_end(self, f, l: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The smallest d in [0, u] (up to bisection precision, always on the sound side)
        whose tangent passes on or above (l, f(l)); u where none does."""
        lo = torch.zeros_like(u)
        hi = u.clamp(min=0).clone()
        for _ in range(_BISECTION_STEPS):
            mid = (lo + hi) / 2
            above = self._tangent_gap(f, mid, l) >= 0
            hi = torch.where(above, mid, hi)
            lo = torch.where(above, lo, mid)
        return hi


@dataclass(eq=False)
class Sigmoid(SShaped):
    """1 / (1 + exp(-x)), relaxed by tangents and secants (see `SShaped`)."""

    onnx_ops = ("Sigmoid",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) * torch.sigmoid(-x)  # no cancellation in 1 - s for large x
