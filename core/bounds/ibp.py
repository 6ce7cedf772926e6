"""Interval bound propagation: one forward pass of boxes through the graph.

The same pass builds the intermediate bounds of CROWN and α-CROWN: a `refine` callback,
when given, returns a tighter box for each nonlinear node's input (from a backward pass),
which is intersected with the interval box before the split constraints apply, so every
later box benefits from it.
"""

from __future__ import annotations

from typing import Callable

import torch

from core.bounds.domains import Domains, apply_split
from core.bounds.plan import Plan
from core.model.ir import Interval

# (tensor name, boxes computed so far, its interval box) -> a sound box at least as tight
Refine = Callable[[str, dict[str, Interval], Interval], Interval]


def tighten(box: Interval, refined: Interval, split: torch.Tensor | None) -> tuple[Interval, torch.Tensor]:
    """Intersect two sound boxes and apply a split; also say which domains the split makes empty ([B] bool)."""
    raw = Interval(torch.maximum(box.lower, refined.lower), torch.minimum(box.upper, refined.upper))
    out = apply_split(raw, split)
    if split is None:
        empty = torch.zeros(out.lower.shape[0], dtype=torch.bool, device=out.lower.device)
    else:
        split = split.reshape(out.lower.shape)
        empty = ((split > 0) & (raw.upper < 0) | (split < 0) & (raw.lower > 0)).flatten(1).any(1)
    # rounding can cross the two sides by a hair where nothing is empty: keep the box well formed
    return Interval(torch.minimum(out.lower, out.upper), torch.maximum(out.lower, out.upper)), empty


def interval_pass(plan: Plan, domains: Domains, refine: Refine | None = None
                  ) -> tuple[dict[str, Interval], torch.Tensor]:
    """Boxes around every tensor [B, *shape], tightened at every nonlinear node's input by
    `refine` and the split constraints; and the [B] mask of domains the splits make empty."""
    graph = plan.graph
    boxes = {graph.input_name: Interval(domains.lower.reshape(domains.batch, *graph.input_shape),
                                        domains.upper.reshape(domains.batch, *graph.input_shape))}
    empty = torch.zeros(domains.batch, dtype=torch.bool, device=domains.lower.device)
    splits_at: dict[str, list[torch.Tensor | None]] = {}
    for node in plan.nonlinear:
        splits_at.setdefault(node.inputs[0], []).append(domains.splits.get(node.name))

    def settle(name: str, box: Interval) -> Interval:
        nonlocal empty
        if name not in splits_at:
            return box
        refined = refine(name, boxes, box) if refine is not None and name != graph.input_name else box
        for split in splits_at[name]:
            box, newly_empty = tighten(box, refined, split)
            refined, empty = box, empty | newly_empty
        return box

    boxes[graph.input_name] = settle(graph.input_name, boxes[graph.input_name])
    for node in graph.nodes:
        boxes[node.name] = settle(node.name, node.op.interval(*(boxes[i] for i in node.inputs)))
    return boxes, empty


def linear_of_box(box: Interval, C: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Lower bounds [B, S] of C·y − d over y in `box` ([B, *shape]); C [B or 1, S, n], d [B or 1, S]."""
    center, radius = box.center.flatten(1).unsqueeze(-1), box.radius.flatten(1).unsqueeze(-1)
    return (C.matmul(center) - C.abs().matmul(radius)).squeeze(-1) - d
