"""Sampling checks shared by the operator and bounding tests (float64 throughout)."""

from __future__ import annotations

import torch

from core.model.ir import Interval
from core.model.operator import Activation, Operator

TOL = 1e-9

# Intervals every activation relaxation must survive: degenerate, touching and just
# straddling zero, one-sided, and huge.
EDGE_INTERVALS = [(-1.0, 1.0), (0.0, 0.0), (2.5, 2.5), (-3.0, -3.0), (-1e-9, 1.0), (-1.0, 1e-9), (0.0, 2.0),
                  (-2.0, 0.0), (0.5, 3.0), (-3.0, -0.5), (-1e4, 1e4), (-1e4, -1e3), (1e3, 1e4), (-0.1, 50.0),
                  (-50.0, 0.1), (-1e-7, 1e-7), (-5.0, 1.0), (-1.0, 5.0), (1e-12, 2e-12)]


def edge_box() -> Interval:
    pairs = torch.tensor(EDGE_INTERVALS, dtype=torch.float64)
    return Interval(pairs[:, 0].reshape(1, -1), pairs[:, 1].reshape(1, -1))


def samples(box: Interval, n: int, generator: torch.Generator) -> torch.Tensor:
    """n points per box [n, batch, *shape]: both ends, a dense grid along the diagonal, random points."""
    grid = torch.linspace(0, 1, n // 2, dtype=box.lower.dtype).reshape(-1, *([1] * box.lower.dim()))
    rand = torch.rand(n - n // 2, *box.lower.shape, dtype=box.lower.dtype, generator=generator)
    t = torch.cat([grid.expand(n // 2, *box.lower.shape), rand])
    return box.lower + t * (box.upper - box.lower)


def assert_relaxation_sound(op: Activation, box: Interval, alpha: torch.Tensor | None = None, n: int = 4001) -> None:
    """lw*x + lb <= f(x) <= uw*x + ub at n points of every interval, and the interval holds f(x)."""
    r = op.relax(box, alpha)
    x = samples(box, n, torch.Generator().manual_seed(0))
    y = op.forward(x)
    scale = 1 + x.abs()
    assert torch.all(r.lw * x + r.lb <= y + TOL * scale), "lower relaxation above the function"
    assert torch.all(y <= r.uw * x + r.ub + TOL * scale), "upper relaxation below the function"
    bounds = op.interval(box)
    assert torch.all(bounds.lower <= y + TOL) and torch.all(y <= bounds.upper + TOL), "interval misses f(x)"


def assert_backward_sound(op: Operator, box: Interval, specs: int = 3, n: int = 512, seed: int = 0,
                          alpha: torch.Tensor | None = None) -> None:
    """For random coefficients A on the output, A.y is bounded by the step's linear bounds at sampled x."""
    g = torch.Generator().manual_seed(seed)
    x = samples(box, n, g)
    y = op.forward(x.flatten(0, 1)).reshape(n, *box.lower.shape[:1], *op.forward(box.lower).shape[1:])
    A = torch.randn(specs, *y.shape[1:], dtype=y.dtype, generator=g)
    step = op.backward(A, A, [box], alpha)
    (new_l, new_u), = step.coefficients
    dot = lambda coef, t: (coef.unsqueeze(1) * t.unsqueeze(0)).flatten(3).sum(-1)  # noqa: E731 [spec, n, batch]
    value = dot(A, y)
    lower = dot(new_l, x) + torch.as_tensor(step.lower_bias).unsqueeze(1)
    upper = dot(new_u, x) + torch.as_tensor(step.upper_bias).unsqueeze(1)
    scale = 1 + value.abs()
    assert torch.all(lower <= value + 1e-8 * scale), f"lower bound exceeds A.y by {(lower - value).max():.3g}"
    assert torch.all(value <= upper + 1e-8 * scale), f"upper bound below A.y by {(value - upper).max():.3g}"


def spec_values(graph, x: torch.Tensor, C: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """C·f(x) − d for x [n, *input] against one spec set C [S, m], d [S] -> [n, S]."""
    return graph.forward(x).reshape(x.shape[0], -1) @ C.T - d


def sampled_extremes(graph, box: Interval, C: torch.Tensor, d: torch.Tensor, n: int = 2000, pgd_steps: int = 30,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smallest and largest C·f(x) − d [S] seen over random points of one box ([1, *input])
    and projected-gradient descents / ascents on each spec row from the best of them."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = box.lower[0], box.upper[0]
    x = lo + torch.rand(n, *lo.shape, dtype=lo.dtype, generator=g) * (hi - lo)
    x = torch.cat([x, lo[None], hi[None]])
    values = spec_values(graph, x, C, d)
    found_min, found_max = values.min(0).values, values.max(0).values
    for sign in (1.0, -1.0):
        start = x[(sign * values).argmin(0)].clone()  # [S, *input], one start per spec row
        point = start.requires_grad_(True)
        step = (hi - lo) / 4
        for k in range(pgd_steps):
            with torch.enable_grad():
                v = (spec_values(graph, point, C, d).diagonal() * sign).sum()
                grad, = torch.autograd.grad(v, point)
            with torch.no_grad():
                point -= step * (1 - k / pgd_steps) * grad.sign()
                point.copy_(torch.maximum(torch.minimum(point, hi), lo))
            reached = spec_values(graph, point.detach(), C, d).diagonal()
            if sign > 0:
                found_min = torch.minimum(found_min, reached)
            else:
                found_max = torch.maximum(found_max, reached)
    return found_min.detach(), found_max.detach()


def assert_sound_on_edge_intervals(op: Activation, alphas: tuple[float, ...]) -> None:
    """The relaxation (default and with each parameter value) and the backward step on `EDGE_INTERVALS`."""
    box = edge_box()
    assert_relaxation_sound(op, box)
    for alpha in alphas:
        assert_relaxation_sound(op, box, torch.full_like(box.lower, alpha))
    assert_backward_sound(op, box)


def box_of_pairs(pairs: list[tuple[float, float]]) -> Interval:
    """One batch row of intervals [a, a + w] from (a, w) pairs (hypothesis draws them)."""
    lower = torch.tensor([[a for a, _ in pairs]], dtype=torch.float64)
    return Interval(lower, lower + torch.tensor([[w for _, w in pairs]], dtype=torch.float64))
