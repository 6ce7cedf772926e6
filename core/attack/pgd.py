"""Projected gradient descent towards the unsafe set, to find counterexamples early.

The loss of a point for one disjunct `C y <= d` is its margin `max_i (c_i·y - d_i)`:
the point is unsafe exactly when the margin is <= 0, so PGD minimises it. All
disjuncts and all random restarts run as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from core.model.ir import Graph

START_STEP, END_STEP = 0.25, 1e-3  # step sizes, as fractions of the box width


@dataclass
class AttackResult:
    """The best point found per target and its margin (<= 0 means unsafe in torch).

    `x` is [targets, input_size]; `margin` is [targets].
    """

    x: torch.Tensor
    margin: torch.Tensor


def margins(y: torch.Tensor, C: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Margin of outputs `y` [B, m] against disjuncts C [B, r, m], d [B, r] -> [B]."""
    return (torch.einsum("brm,bm->br", C, y) - d).amax(dim=1)


def pgd(graph: Graph, lower: torch.Tensor, upper: torch.Tensor, C: torch.Tensor, d: torch.Tensor,
        restarts: int, steps: int, generator: torch.Generator,
        stop: Callable[[], bool] | None = None) -> AttackResult:
    """Attack each target k: box `lower[k]..upper[k]` [K, n] and disjunct C[k] [r, m], d[k] [r].

    Restart 0 starts at the box centre, the others uniformly at random. The step size
    decays geometrically from a quarter to a thousandth of the box width, so that the
    last steps can settle on the thin unsafe slivers that wide boxes often have. Stops early once every target has
    an unsafe point, or as soon as `stop()` returns True (budget spent or cancelled).
    """
    K, n = lower.shape
    R = max(restarts, 1)
    lo = lower.repeat_interleave(R, 0)
    hi = upper.repeat_interleave(R, 0)
    Cb, db = C.repeat_interleave(R, 0), d.repeat_interleave(R, 0)
    noise = torch.rand(lo.shape, generator=generator, dtype=lo.dtype, device="cpu").to(lo.device)
    x = lo + (hi - lo) * noise
    x.view(K, R, n)[:, 0] = (lower + upper) / 2
    width = hi - lo
    best_x, best_m = x.clone(), torch.full((K * R,), float("inf"), dtype=lo.dtype, device=lo.device)
    for step in range(steps + 1):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            m = margins(graph.forward(x).flatten(1), Cb, db)
        improved = m.detach() < best_m
        best_m = torch.where(improved, m.detach(), best_m)
        best_x = torch.where(improved[:, None], x.detach(), best_x)
        done = (best_m.view(K, R) <= 0).any(dim=1).all()
        if step == steps or bool(done) or (stop is not None and stop()):
            break
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(m.sum(), x)
        size = START_STEP * (END_STEP / START_STEP) ** (step / max(steps - 1, 1))
        x = torch.max(torch.min(x.detach() - size * width * grad.sign(), hi), lo)
    per_target = best_m.view(K, R)
    idx = per_target.argmin(dim=1)
    rows = torch.arange(K, device=lo.device) * R + idx
    return AttackResult(best_x[rows], per_target.gather(1, idx[:, None]).squeeze(1))
