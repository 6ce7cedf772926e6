"""LeakyReLU, and the hinge relaxation it shares with ReLU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.model.ir import Interval
from core.model.operator import Activation, Relaxation


# Relative width (of u - l) of the band around u = -l where the adaptive slope is 0, and
# around 0 where a bound does not count as proving a sign (see `clearly_stable`). Without
# it rounding decides exact ties, which networks with symmetric weights have by the
# hundred (tllverifybench), and a certificate checker re-deriving the bounds with other
# rounding would choose differently: CROWN is not continuous in those choices.
TIE = 1e-9


def adaptive_slope(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """1 where u > -l by more than the tie band (the line closer to the function), else 0."""
    return (upper + lower > TIE * (upper - lower)).to(upper.dtype)


def clearly_stable(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """Bounds that prove the sign by more than the tie band (a bound at 0 up to rounding does not)."""
    band = TIE * (upper - lower)
    return (lower >= band) | (upper <= -band)


def hinge_relaxation(bounds: Interval, slope: float, alpha: torch.Tensor | None) -> Relaxation:
    """Relax f(x) = x for x >= 0, slope * x for x < 0, over [l, u].

    For slope <= 1 the function is convex: the chord bounds it from above and any line
    through the origin with a slope between `slope` and 1 bounds it from below; `alpha`
    in [0, 1] picks that slope (default: the closer side, `adaptive_slope`). For slope > 1
    the function is concave and the two roles swap. Stable neurons are exact.
    """
    l, u = bounds.lower, bounds.upper
    active, inactive = l >= 0, u <= 0
    unstable = ~(active | inactive)
    width = torch.where(unstable, u - l, torch.ones_like(u))
    chord_w = (u - slope * l) / width
    chord_b = (slope - 1) * l * u / width
    if alpha is None:
        alpha = adaptive_slope(l, u)
    tangent_w = slope + (1 - slope) * alpha
    exact_w = torch.where(active, torch.ones_like(u), torch.full_like(u, slope))
    # chord above and tangent below when convex (slope <= 1); swapped when concave. The
    # tangent and the exact lines pass through the origin: their offset is 0.0.
    above_w, below_w = (chord_w, tangent_w) if slope <= 1 else (tangent_w, chord_w)
    chord_b = torch.where(unstable, chord_b, torch.zeros_like(chord_b))
    above_b, below_b = (chord_b, 0.0) if slope <= 1 else (0.0, chord_b)
    return Relaxation(lw=torch.where(unstable, below_w, exact_w), lb=below_b,
                      uw=torch.where(unstable, above_w, exact_w), ub=above_b)


def hinge_alpha_init(bounds: Interval) -> torch.Tensor:
    """The adaptive lower slope (`adaptive_slope`)."""
    return adaptive_slope(bounds.lower, bounds.upper)


@dataclass(eq=False)
class LeakyRelu(Activation):
    """x for x >= 0, alpha * x otherwise (ONNX attribute `alpha`, default 0.01)."""

    onnx_ops = ("LeakyRelu",)
    alpha: float = 0.01

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.alpha * x)

    def __post_init__(self) -> None:
        if not self.alpha >= 0:
            raise ValueError(f"LeakyRelu alpha must be >= 0 (the function must be monotone), got {self.alpha}")

    def interval(self, x: Interval) -> Interval:
        return Interval(self.forward(x.lower), self.forward(x.upper))

    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        return hinge_relaxation(bounds, self.alpha, alpha)

    def alpha_init(self, bounds: Interval) -> torch.Tensor:
        return hinge_alpha_init(bounds)

    def describe(self) -> str:
        return f"LeakyRelu(alpha={self.alpha:g})"
