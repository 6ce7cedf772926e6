"""Strong branching, the rule the GNN imitates, logging every decision it makes.

Each candidate's two children are bounded with the search's cheap bounding pass (the
one FSB uses: a backward pass from the parent's α/β) and ranked by
`branching.split_score`, by default the sum of both children's capped gains: as a rule
on the plainly trained MNIST networks the data come from, that visits 4-13 times fewer
domains than ranking by the worse child, which visits more than BaBSR
(docs/results/branching.md). On wide networks only the best `per_layer` candidates of
each layer by BaBSR's score are bounded (FSB's filter with a wider net).

Per domain the log keeps the GNN's features, the candidates with their scores, the
choice and the link to the parent domain (found from the split rows: a child's row is
its parent's with the parent's chosen neuron set).
"""

from __future__ import annotations

import torch

from core.bab.branching import BranchContext, babsr_scores, per_layer_top, split_score


class DecisionLog:
    """Decisions of one search: per domain the features (`hidden` [N, F] float16),
    candidates [K] and scores [K] (-inf: no candidate), chosen (flat) and parent (an
    index into this log, -1 for the root or a parent not logged)."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self._expected: dict[bytes, int] = {}

    def add(self, hidden: torch.Tensor, split: torch.Tensor, flats: torch.Tensor, scores: torch.Tensor,
            chosen: torch.Tensor) -> None:
        for b in range(split.shape[0]):
            row = split[b].cpu()
            index = len(self.records)
            parent = self._expected.pop(row.numpy().tobytes(), -1)
            self.records.append({"hidden": hidden[b].half(), "candidates": flats[b].cpu(),
                                 "scores": scores[b].float().cpu(), "chosen": int(chosen[b]), "parent": parent})
            if int(chosen[b]) >= 0:
                for side in (-1, 1):
                    child = row.clone()
                    child[int(chosen[b])] = side
                    self._expected[child.numpy().tobytes()] = index


def candidate_set(ctx: BranchContext, per_layer: int) -> torch.Tensor:
    """Flat candidates [B, K] (-1 pads): every unstable unsplit neuron of a layer when it has
    at most `per_layer`, else its `per_layer` best by BaBSR's score."""
    score = torch.where(ctx.candidates(), babsr_scores(ctx), torch.full_like(ctx.lower, -float("inf")))
    value, flat = per_layer_top(score, ctx.offsets, per_layer)
    return torch.where(torch.isfinite(value), flat, torch.full_like(flat, -1))


class StrongBranching:
    """Branching rule that bounds every candidate's children and logs to `log`; features come
    from `featurize` (a `Featurizer`)."""

    def __init__(self, featurize, log: DecisionLog, per_layer: int = 16, score: str = "gains") -> None:
        self.featurize, self.log, self.per_layer, self.score = featurize, log, per_layer, score

    def __call__(self, ctx: BranchContext) -> torch.Tensor:
        flats = candidate_set(ctx, self.per_layer)
        scores = torch.full(flats.shape, -float("inf"), dtype=ctx.lower.dtype, device=flats.device)
        if ctx.bound_children is not None:
            for k in range(flats.shape[1]):
                valid = flats[:, k] >= 0
                if bool(valid.any()):
                    value = split_score(ctx.bound_children(flats[:, k].clamp(min=0)), ctx.lb, self.score)
                    scores[:, k] = torch.where(valid, value, scores[:, k])
        best = scores.argmax(dim=1)
        chosen = torch.where((flats >= 0).any(dim=1), flats.gather(1, best[:, None])[:, 0], torch.full_like(best, -1))
        self.log.add(self.featurize(ctx).hidden, ctx.split, flats, scores, chosen)
        return chosen
