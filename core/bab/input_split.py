"""Branch and bound over the input box, for networks with few inputs (ACAS Xu has 5).

Each step pops the worst batch of boxes, halves each along the dimension its bound is
most sensitive to, bounds all children in one call, closes those proven, looks for
counterexamples at the children's centres (and by PGD inside the worst boxes now and
then), and pushes the rest back.

Split dimension ("bound gradient" / smear): for a box with lower bound lb, dimension j
scores `(|dlb/dl_j| + |dlb/du_j|) * (u_j - l_j)`, the first-order gain of shrinking it.
For a CROWN bound lb = sum_j min(a_j l_j, a_j u_j) + ..., that is |a_j| times the width:
the classic smear. It reads only the final linear bound, not what a dimension does to
the intermediate bounds, where the looseness usually is, so it can starve a dimension:
on ACAS Xu 1_4 prop_1 it halved three dimensions down to 1e-3 of their range while one
still spanned half of its, and the bound sat at -9 until the timeout. So a box whose
smear choice is over `STARVED` times narrower, relative to the root box, than its
relatively widest dimension splits that one instead (1_4 prop_1: proven in 2.8 s; 64
balances the prop_1 instances against 1_1 prop_5, which wants the smear).
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from core.bab.bounding import ReluRows
from core.bab.budget import Budget
from core.bab.outcome import Outcome, TryCounterexample
from core.bab.pool import Batch, select
from core.bab.pursuit import LpPursuit
from core.bab.search import OutOfMemory, Search

# (lower, upper [B, n], parent ReluRows | None) -> (lower bounds [B, r], ReluRows | None);
# differentiable in lower and upper (see core.bab.bounding.InputSplitBounder).
BoxBounder = Callable[..., tuple[torch.Tensor, ReluRows | None]]
# Margins [B] of the network's outputs at points [B, n] (<= 0 means unsafe).
PointMargin = Callable[[torch.Tensor], torch.Tensor]
# Candidate points [B, n] inside boxes lower/upper [B, n].
Attack = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

ATTACK_EVERY = 10        # PGD inside the worst boxes every this many steps
MIN_WIDTH = 1e-7         # relative box width below which a box is not split further
STARVED = 64             # split the relatively widest dimension once it is this many times the smear's
ALPHA_STEPS = 10         # α steps on the best row of children near closing (see InputSplitSearch._alpha)
ALPHA_LR = 0.3           # ... their step size
ALPHA_REACH = 2.0        # ... those within this many times the recent mean α gain of 0
ALPHA_EXPLORE = 8        # ... and always the best 1/8 of a batch's open children


def bound_and_score(bounder: BoxBounder, lower: torch.Tensor, upper: torch.Tensor, root_width: torch.Tensor,
                    parent: ReluRows | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, ReluRows | None, torch.Tensor, torch.Tensor]:
    """Per box: lower bound [B] (max over the disjunct's rows), split dimension [B] (see the
    module's docstring; `root_width` [n] is the searched box's), ReLU input bounds, the
    corner of the box [B, n] where the linear bound is smallest, and which of the bounder's
    rows gave the bound [B] (what a certificate records)."""
    lo = lower.detach().clone().requires_grad_(True)
    hi = upper.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        rows_lb, rows = bounder(lo, hi, parent)
        lb = rows_lb.amax(dim=1)
        gl, gu = torch.autograd.grad(lb.sum(), (lo, hi), allow_unused=True)
    gl = torch.zeros_like(lo) if gl is None else gl
    gu = torch.zeros_like(hi) if gu is None else gu
    dim = split_dimension(gl.abs() + gu.abs(), upper - lower, root_width)
    # the corner minimising the linear bound (x_j = l_j where its coefficient is positive)
    corner = torch.where(gl > 0, lower, upper)
    return lb.detach(), dim, rows, corner, rows_lb.detach().argmax(dim=1)


def split_dimension(sensitivity: torch.Tensor, width: torch.Tensor, root_width: torch.Tensor) -> torch.Tensor:
    """The dimension [B] to halve, from |dlb/dl| + |dlb/du| and the widths [B, n] (see the
    module's docstring). A box flat along a dimension is never split there."""
    smear = torch.where(width > 0, sensitivity * width + 1e-12 * width, torch.full_like(width, -1.0))
    relative = torch.where(root_width > 0, width / root_width.clamp(min=torch.finfo(width.dtype).tiny), 0.0)
    by_smear, by_width = smear.argmax(dim=1), relative.argmax(dim=1)
    at = lambda t, i: t.gather(1, i[:, None]).squeeze(1)  # noqa: E731
    starved = at(relative, by_smear) * STARVED < at(relative, by_width)
    return torch.where(starved, by_width, by_smear)


def halve(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Children boxes [2B, n] (all left halves, then all right halves) and the split values [B]."""
    lower, upper, dim = batch["lower"], batch["upper"], batch["dim"]
    rows = torch.arange(lower.shape[0], device=lower.device)
    mid = (lower[rows, dim] + upper[rows, dim]) / 2
    left_hi, right_lo = upper.clone(), lower.clone()
    left_hi[rows, dim] = mid
    right_lo[rows, dim] = mid
    return torch.cat([lower, right_lo]), torch.cat([left_hi, upper]), mid


def with_rows(batch: Batch, rows: ReluRows | None) -> Batch:
    if rows is not None:
        batch["pre_l"], batch["pre_u"] = rows.lower, rows.upper
    return batch


class InputSplitSearch(Search):
    """One search over one box and one disjunct; `run` returns the `Outcome`."""

    def __init__(self, bounder: BoxBounder, point_margin: PointMargin, attack: Attack,
                 try_counterexample: TryCounterexample, budget: Budget, margin: float = 0.0,
                 batch_size: int | None = None, memory_cap_bytes: float | None = None,
                 row_weights: torch.Tensor | None = None, pursuit: LpPursuit | None = None) -> None:
        super().__init__("input", budget, batch_size, 64, memory_cap_bytes)
        self.bounder, self.point_margin, self.attack, self.pursuit = bounder, point_margin, attack, pursuit
        self.try_counterexample, self.margin = try_counterexample, margin
        self.tree.intermediate = getattr(bounder, "intermediate", "crown")
        # [r', r]: the bounder's rows as combinations of the disjunct's (None: they are its rows)
        self.row_weights = None if row_weights is None else row_weights.detach().cpu().numpy()
        # α on children near closing needs the bounder's α pass and rows to record (evidence)
        self.alpha_steps = ALPHA_STEPS if hasattr(bounder, "alpha_bound") and self.row_weights is not None else 0
        self.alpha_gain: float | None = None  # running mean of what α adds to a child's bound
        self.alpha_slopes: dict[str, torch.Tensor] = {}  # the latest α pass's slopes, rows as in "alpha_at"

    def adopt(self, lower: torch.Tensor, upper: torch.Tensor) -> None:
        """Take the box lower..upper [n] as the searched one without bounding it: the pool is
        then filled with domains of it bounded elsewhere (a sub-search, core.verifier.parallel)."""
        self.root_width = upper - lower
        self.min_width = MIN_WIDTH * float((upper - lower).abs().max().clamp(min=1e-30))
        self.stuck, self.steps = 0, 0  # boxes too small to split; steps taken
        self.rooted = True

    def run(self, lower: torch.Tensor, upper: torch.Tensor) -> Outcome:
        """Search the box lower..upper [n]."""
        self.adopt(lower, upper)
        lb, dim, rows, corner, row = bound_and_score(self.bounder, lower[None], upper[None], self.root_width)
        ids = torch.zeros(1, dtype=torch.long, device=lower.device)
        if self._settle(with_rows({"lower": lower[None], "upper": upper[None], "lb": lb, "dim": dim, "id": ids,
                                   "corner": corner, "row": row}, rows)):
            return self.outcome("sat")
        return self.resume()

    def resume(self) -> Outcome:
        """The search loop, from the pool as it is (`Search`: what `run` leaves after a `Stop`)."""
        self.require_root()
        found = False
        while not found and len(self.pool):
            self.tick()
            started = time.monotonic()
            batch = self.pool.pop(self.next_batch())
            tiny = (batch["upper"] - batch["lower"]).amax(dim=1) < self.min_width
            self.stuck += int(tiny.sum())
            self.drop(batch["lb"][tiny])
            batch = select(batch, ~tiny)
            if batch["lb"].numel() == 0:
                continue
            c_lower, c_upper, mid = halve(batch)
            try:
                children = self.attempt(batch, lambda: self._bound_children(batch, c_lower, c_upper))
            except OutOfMemory as exc:
                return self.outcome("unknown", str(exc))
            if children is None:
                continue
            splits = [("input", int(j), float(v)) for j, v in zip(batch["dim"].tolist(), mid.tolist())]
            left, right = self.tree.add_children(batch["id"].cpu(), splits)
            children["id"] = torch.cat([left, right]).to(c_lower.device)
            self.count(int(children["lb"].numel()))
            found = self._settle(children)
            self.steps += 1
            if not found and self.steps % ATTACK_EVERY == 0 and len(self.pool):
                found = self._attack_worst()
            self.adapt(time.monotonic() - started, int(batch["lb"].shape[0]))
            if self.over_memory():
                return self.outcome("unknown", "memory cap reached")
        if found:
            return self.outcome("sat")
        if self.stuck:
            return self.outcome("unknown", f"{self.stuck} boxes too small to split")
        return self.outcome("unsat")

    def _bound_children(self, batch: Batch, lower: torch.Tensor, upper: torch.Tensor) -> Batch:
        """Bound the children boxes, intersecting their ReLU input bounds with their parents'."""
        parent = ReluRows(batch["pre_l"].repeat(2, 1), batch["pre_u"].repeat(2, 1)) if "pre_l" in batch else None
        lb, dim, rows, corner, row = bound_and_score(self.bounder, lower, upper, self.root_width, parent)
        children = with_rows({"lower": lower, "upper": upper, "lb": lb, "dim": dim, "corner": corner, "row": row}, rows)
        if self.alpha_steps and rows is not None:
            self._alpha(children)
        return children

    def _alpha(self, children: Batch) -> None:
        """A few α steps on the best row of the children whose CROWN bound is within reach of
        closing (within ALPHA_REACH times the recent mean α gain below the margin; all
        children until there is a gain to go by), and the best 1/ALPHA_EXPLORE of the open
        ones whatever the gain (else a gain estimate of 0, which a first batch can give,
        would stop α for good). Raises their bounds in place; "alpha_at" indexes each
        child's slopes in `alpha_slopes` (-1: none), the evidence of those it closes.

        On ACAS Xu 4_2 prop_2, 5 steps at lr 0.1 close 92% of the open boxes at -0.005 <
        lb <= 0, 40% at -0.01 < lb <= -0.005, none below -0.03 (the mean gain is ~0.005);
        10 steps at lr 0.3 more than double the gain, and the instance is proven in 17 s
        (5 steps at lr 0.1: a timeout)."""
        lb = children["lb"]
        reach = float("inf") if self.alpha_gain is None else ALPHA_REACH * self.alpha_gain
        near = (lb <= self.margin) & (lb > self.margin - reach)
        open_ = (lb <= self.margin).nonzero().squeeze(1)
        if open_.numel():
            best = open_[torch.argsort(lb[open_], descending=True)[:max(1, open_.numel() // ALPHA_EXPLORE)]]
            near[best] = True
        pick = near.nonzero().squeeze(1)
        children["alpha_at"] = torch.full_like(lb, -1, dtype=torch.long)
        if pick.numel() == 0:
            return
        new, self.alpha_slopes = self.bounder.alpha_bound(
            children["lower"][pick], children["upper"][pick],
            ReluRows(children["pre_l"][pick], children["pre_u"][pick]), children["row"][pick], self.alpha_steps,
            ALPHA_LR)
        gain = float((new - lb[pick]).clamp(min=0).mean())
        self.alpha_gain = gain if self.alpha_gain is None else (self.alpha_gain + gain) / 2
        children["lb"] = lb.clone().index_put_((pick,), torch.maximum(lb[pick], new))
        children["alpha_at"][pick] = torch.arange(pick.numel(), device=lb.device)

    def _settle(self, batch: Batch) -> bool:
        """Close proven boxes, test the centres and bound-minimising corners of the others
        (and the LP pursuit's points), push what stays open."""
        proven = batch["lb"] > self.margin
        alpha_at = batch.pop("alpha_at", None)
        self.tree.close(batch["id"][proven].cpu(), batch["lb"][proven].cpu(),
                        evidence=self._evidence(batch["row"][proven], None if alpha_at is None else alpha_at[proven]))
        rest = select(batch, ~proven)
        corners = rest.pop("corner")
        rest.pop("row")
        if rest["lb"].numel() == 0:
            return False
        points = torch.cat([corners, (rest["lower"] + rest["upper"]) / 2])
        if self.pursuit is not None and "pre_l" in rest:
            pursued = self.pursuit.candidates(rest["lower"], rest["upper"], ReluRows(rest["pre_l"], rest["pre_u"]),
                                              rest["lb"], torch.ones_like(rest["lb"], dtype=torch.bool))
            if pursued:
                points = torch.cat([torch.stack(pursued), points])
        with torch.no_grad():
            margin = self.point_margin(points)
        unsafe = margin <= 0
        if bool(unsafe.any()) and self.try_counterexample(points[unsafe][torch.argsort(margin[unsafe])]):
            return True
        self.pool.push(rest)
        return False

    def _evidence(self, rows: torch.Tensor, alpha_at: torch.Tensor | None = None) -> list[dict] | None:
        """Per closed box, the combination of the disjunct's rows [1, r] whose bound closed
        it, and the lower slopes [1, size] per ReLU layer where α closed it."""
        if self.row_weights is None:
            return None
        out = [{"rows": self.row_weights[k][None]} for k in rows.tolist()]
        if alpha_at is not None:
            slopes = {name: v.detach().cpu().numpy() for name, v in self.alpha_slopes.items()}
            for leaf, j in zip(out, alpha_at.tolist()):
                if j >= 0:
                    leaf["alpha"] = {name: v[j][None] for name, v in slopes.items()}
        return out

    def _attack_worst(self) -> bool:
        """PGD inside the few worst boxes (which stay in the pool)."""
        worst = self.pool.pop(min(8, len(self.pool)))
        self.pool.push(worst)
        x = self.attack(worst["lower"], worst["upper"])
        with torch.no_grad():
            unsafe = self.point_margin(x) <= 0
        return bool(unsafe.any()) and self.try_counterexample(x[unsafe])
