"""Which ReLU to split next: BaBSR, FSB and UPB behind one interface.

All three see the same `BranchContext` of a batch of domains and return, per domain,
the flat index (into the concatenated neurons of all ReLU layers) of the neuron to
split, or -1 when every unstable neuron is already split (the domain is then decided
exactly instead).

- BaBSR scores an unstable neuron by what its triangle relaxation costs the lower
  bound: the intercept `-u l / (u - l)` weighted by how much the bound leans on the
  upper line there (the negative part of the neuron's backward coefficient).
- UPB is the cheap relative: the intercept alone (the looseness of the relaxation).
- FSB (filtered smart branching) keeps BaBSR's best few per layer and bounds both
  children of each candidate with a cheap CROWN pass, keeping the candidate with the
  best `split_score`: by default the worse child's bound ("worse-child"), or the sum of
  both children's gains, each capped at what would close the domain ("gains"). The sum
  visits 2-6 times fewer domains on small plainly trained MNIST networks, the same on
  eran 9x200 and more on mnist_fc 256x4 (docs/results/branching.md), so it is not the
  default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

# Bounds both children of splitting candidate neurons `flat` [B]: lower bounds [B, 2].
ChildBounder = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class BranchContext:
    """A batch of domains: concatenated pre-activation bounds lower/upper [B, N], split
    state [B, N] (int8), layer offsets into N, and the backward coefficients of the
    lower bound at each ReLU output concatenated [B, N] (None when not available).
    What learned branching also reads (None when not available): the domains' lower
    bounds `lb` [B], their α/β `warm` (batch first, per ReLU node) and the input box
    `box` (lower, upper [1, n])."""

    lower: torch.Tensor
    upper: torch.Tensor
    split: torch.Tensor
    offsets: list[int]
    coefficient: torch.Tensor | None
    bound_children: ChildBounder | None = None
    lb: torch.Tensor | None = None
    warm: dict[str, torch.Tensor] | None = None
    box: tuple[torch.Tensor, torch.Tensor] | None = None

    def candidates(self) -> torch.Tensor:
        """Unstable and not yet split: [B, N] bool."""
        return (self.lower < 0) & (self.upper > 0) & (self.split == 0)


def intercept(ctx: BranchContext) -> torch.Tensor:
    """The upper line's intercept -u l / (u - l) on unstable neurons, 0 elsewhere: [B, N]."""
    l, u = ctx.lower, ctx.upper
    gap = (u - l).clamp(min=1e-12)
    return torch.where(ctx.candidates(), (u * -l) / gap, torch.zeros_like(l))


def pick(score: torch.Tensor, ctx: BranchContext) -> torch.Tensor:
    """argmax of `score` over candidates, -1 where a domain has none."""
    masked = torch.where(ctx.candidates(), score, torch.full_like(score, -float("inf")))
    best = masked.argmax(dim=1)
    return torch.where(ctx.candidates().any(dim=1), best, torch.full_like(best, -1))


def upb_scores(ctx: BranchContext) -> torch.Tensor:
    return intercept(ctx)


def babsr_scores(ctx: BranchContext) -> torch.Tensor:
    gain = intercept(ctx)
    if ctx.coefficient is None:
        return gain
    # A tiny share of the bare intercept breaks ties where no coefficient leans on the neuron.
    return gain * (-ctx.coefficient).clamp(min=0) + 1e-6 * gain


def babsr(ctx: BranchContext) -> torch.Tensor:
    return pick(babsr_scores(ctx), ctx)


def upb(ctx: BranchContext) -> torch.Tensor:
    return pick(upb_scores(ctx), ctx)


def split_score_of(config) -> str:
    """`config.split_score` as used: auto is gains for the gnn rule (with its filter, 0.34 of FSB's
    domains against 0.65 by the worse child) and the worse child for FSB (gains was slower on
    mnist_fc 256x4); docs/results/branching.md."""
    if config.split_score != "auto":
        return config.split_score
    return "gains" if config.relu_heuristic == "gnn" else "worse-child"


def split_score(children: torch.Tensor, lb: torch.Tensor | None, how: str = "worse-child") -> torch.Tensor:
    """How much splitting a domain helps, from its children's lower bounds [B, 2] and its
    own `lb` [B]: "gains" sums each child's gain over `lb`, capped at -lb (a child that
    closes counts as closing, however far past 0 its bound lands); "worse-child" is the
    lower child's bound (also used when `lb` is unknown)."""
    if how == "worse-child" or lb is None:
        return children.amin(dim=1)
    need = (-lb).clamp(min=1e-12)[:, None]
    return torch.minimum(children - lb[:, None], need).clamp(min=0).sum(dim=1)


def per_layer_top(score: torch.Tensor, offsets: list[int], k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best `k` of `score` [B, N] in each layer and their flat indices, layers concatenated: [B, K] each."""
    edges = offsets + [score.shape[1]]
    picks = []
    for start, stop in zip(edges[:-1], edges[1:]):
        if stop > start:
            value, index = score[:, start:stop].topk(min(k, stop - start), dim=1)
            picks.append((value, index + start))
    return torch.cat([v for v, _ in picks], dim=1), torch.cat([i for _, i in picks], dim=1)


def best_by_children(ctx: BranchContext, values: torch.Tensor, flats: torch.Tensor, fallback: torch.Tensor,
                     score: str) -> torch.Tensor:
    """Of the candidate neurons `flats` [B, K] (a -inf in `values` [B, K] marks no candidate), the one
    whose two children, bounded, rank best by `split_score` `score`; `fallback` [B] where a domain has none."""
    best_score = torch.full_like(values[:, 0], -float("inf"))
    chosen = fallback.clone()
    for k in range(flats.shape[1]):
        valid = torch.isfinite(values[:, k])
        if not bool(valid.any()):
            continue
        children = ctx.bound_children(torch.where(valid, flats[:, k], fallback.clamp(min=0)))
        value = torch.where(valid, split_score(children, ctx.lb, score), torch.full_like(best_score, -float("inf")))
        better = value > best_score
        chosen = torch.where(better, flats[:, k], chosen)
        best_score = torch.where(better, value, best_score)
    return torch.where(fallback < 0, fallback, chosen)


def fsb(ctx: BranchContext, per_layer: int = 3, score: str = "worse-child") -> torch.Tensor:
    """Filter by BaBSR (top `per_layer` per layer), decide by bounding the children
    (`split_score` `score`)."""
    fallback = babsr(ctx)
    if ctx.bound_children is None:
        return fallback
    filtered = torch.where(ctx.candidates(), babsr_scores(ctx), torch.full_like(ctx.lower, -float("inf")))
    values, flats = per_layer_top(filtered, ctx.offsets, per_layer)  # [B, K] each
    return best_by_children(ctx, values, flats, fallback, score)


HEURISTICS: dict[str, Callable[[BranchContext], torch.Tensor]] = {"babsr": babsr, "fsb": fsb, "upb": upb}
