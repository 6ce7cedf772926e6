"""Branch and bound over the input box, for networks with few inputs (ACAS Xu has 5).

Each step pops the worst batch of boxes, halves each along the dimension its bound is
most sensitive to, bounds all children in one call, closes those proven, looks for
counterexamples at the children's centres (and by PGD inside the worst boxes now and
then), and pushes the rest back.

Split dimension ("bound gradient" / smear): for a box with lower bound lb, dimension j
scores `(|dlb/dl_j| + |dlb/du_j|) * (u_j - l_j)`, the first-order gain of shrinking it.
For a CROWN bound lb = sum_j min(a_j l_j, a_j u_j) + ..., that is |a_j| times the width:
the classic smear, taken through the whole bound (intermediate layers included).
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from core.bab.budget import Budget
from core.bab.outcome import Outcome, TryCounterexample
from core.bab.pool import Batch, select
from core.bab.search import Search

# Lower bounds [B, r] of C y - d for boxes lower/upper [B, n]; must be differentiable in both.
BoxBounder = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Margins [B] of the network's outputs at points [B, n] (<= 0 means unsafe).
PointMargin = Callable[[torch.Tensor], torch.Tensor]
# Candidate points [B, n] inside boxes lower/upper [B, n].
Attack = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

ATTACK_EVERY = 10        # PGD inside the worst boxes every this many steps
MIN_WIDTH = 1e-7         # relative box width below which a box is not split further


def bound_and_score(bounder: BoxBounder, lower: torch.Tensor, upper: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower bounds [B] (max over the disjunct's rows) and the split dimension [B] of each box."""
    lo = lower.detach().clone().requires_grad_(True)
    hi = upper.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        lb = bounder(lo, hi).amax(dim=1)
        gl, gu = torch.autograd.grad(lb.sum(), (lo, hi), allow_unused=True)
    gl = torch.zeros_like(lo) if gl is None else gl
    gu = torch.zeros_like(hi) if gu is None else gu
    width = (upper - lower)
    score = (gl.abs() + gu.abs()) * width
    # A box flat along a dimension cannot be split there; break ties by width.
    score = torch.where(width > 0, score + 1e-12 * width, torch.full_like(score, -1.0))
    return lb.detach(), score.argmax(dim=1)


def halve(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Children boxes [2B, n] (all left halves, then all right halves) and the split values [B]."""
    lower, upper, dim = batch["lower"], batch["upper"], batch["dim"]
    rows = torch.arange(lower.shape[0], device=lower.device)
    mid = (lower[rows, dim] + upper[rows, dim]) / 2
    left_hi, right_lo = upper.clone(), lower.clone()
    left_hi[rows, dim] = mid
    right_lo[rows, dim] = mid
    return torch.cat([lower, right_lo]), torch.cat([left_hi, upper]), mid


class InputSplitSearch(Search):
    """One search over one box and one disjunct; `run` returns the `Outcome`."""

    def __init__(self, bounder: BoxBounder, point_margin: PointMargin, attack: Attack,
                 try_counterexample: TryCounterexample, budget: Budget, margin: float = 0.0,
                 batch_size: int | None = None, memory_cap_bytes: float | None = None) -> None:
        super().__init__("input", budget, batch_size, 64, memory_cap_bytes)
        self.bounder, self.point_margin, self.attack = bounder, point_margin, attack
        self.try_counterexample, self.margin = try_counterexample, margin

    def run(self, lower: torch.Tensor, upper: torch.Tensor) -> Outcome:
        """Search the box lower..upper [n]."""
        lb, dim = bound_and_score(self.bounder, lower[None], upper[None])
        ids = torch.zeros(1, dtype=torch.long)
        scale = float((upper - lower).abs().max().clamp(min=1e-30))
        stuck = 0
        found = self._settle({"lower": lower[None], "upper": upper[None], "lb": lb, "dim": dim, "id": ids})
        step = 0
        while not found and len(self.pool):
            self.tick()
            started = time.monotonic()
            batch = self.pool.pop(self.batch_size)
            tiny = (batch["upper"] - batch["lower"]).amax(dim=1) < MIN_WIDTH * scale
            stuck += int(tiny.sum())
            batch = select(batch, ~tiny)
            if batch["lb"].numel() == 0:
                continue
            c_lower, c_upper, mid = halve(batch)
            try:
                c_lb, c_dim = bound_and_score(self.bounder, c_lower, c_upper)
            except torch.OutOfMemoryError:
                self.pool.push(batch)
                if not self.back_off():
                    return self.outcome("unknown", "out of memory with one domain per batch")
                continue
            splits = [("input", int(j), float(v)) for j, v in zip(batch["dim"].tolist(), mid.tolist())]
            left, right = self.tree.add_children(batch["id"].cpu(), splits)
            self.count(int(c_lb.numel()))
            found = self._settle({"lower": c_lower, "upper": c_upper, "lb": c_lb, "dim": c_dim,
                                  "id": torch.cat([left, right]).to(c_lb.device)})
            step += 1
            if not found and step % ATTACK_EVERY == 0 and len(self.pool):
                found = self._attack_worst()
            self.adapt(time.monotonic() - started)
            if self.over_memory():
                return self.outcome("unknown", "memory cap reached")
        if found:
            return self.outcome("sat")
        if stuck:
            return self.outcome("unknown", f"{stuck} boxes too small to split")
        return self.outcome("unsat")

    def _settle(self, batch: Batch) -> bool:
        """Close proven boxes, test the centres of the others, push what stays open."""
        proven = batch["lb"] > self.margin
        self.tree.close(batch["id"][proven].cpu(), batch["lb"][proven].cpu())
        rest = select(batch, ~proven)
        if rest["lb"].numel() == 0:
            return False
        centres = (rest["lower"] + rest["upper"]) / 2
        with torch.no_grad():
            unsafe = self.point_margin(centres) <= 0
        if bool(unsafe.any()) and self.try_counterexample(centres[unsafe]):
            return True
        self.pool.push(rest)
        return False

    def _attack_worst(self) -> bool:
        """PGD inside the few worst boxes (which stay in the pool)."""
        worst = self.pool.pop(min(8, len(self.pool)))
        self.pool.push(worst)
        x = self.attack(worst["lower"], worst["upper"])
        with torch.no_grad():
            unsafe = self.point_margin(x) <= 0
        return bool(unsafe.any()) and self.try_counterexample(x[unsafe])
