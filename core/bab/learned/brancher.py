"""The GNN as a branching rule of ReLU-split branch and bound, with its fail-safe.

Per batch of domains the GNN scores every unstable neuron and the best is split. Its
choice is then checked as the seed paper does: the children of the chosen neuron are
bounded by the same cheap pass FSB uses; where they raise the domain's bound by less
than `threshold` of its magnitude, BaBSR's choice is bounded too and the better of the
two (by FSB's `split_score`) kept. With `candidates` k > 1 the GNN is FSB's filter
instead of BaBSR: the children of its best k, and of BaBSR's choice, are bounded and the
best by `split_score` split. Any choice is sound (the children cover the parent), so a
poor model costs time, never a verdict.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from core.bab.branching import BranchContext, babsr, best_by_children, pick, split_score, split_score_of
from core.bab.learned.features import Featurizer
from core.bab.learned.gnn import BranchGNN
from core.bab.learned.graph import NetworkGraph, network_graph
from core.bab.learned.model_file import load_brancher

_models: dict[str, tuple[float, tuple]] = {}  # path -> (mtime, load_brancher's answer)
_graphs: list[tuple[object, NetworkGraph]] = []  # the last graph probed (one search's many targets share it)


def cached_brancher(path: str) -> tuple:
    mtime = Path(path).stat().st_mtime if Path(path).exists() else -1.0
    hit = _models.get(path)
    if hit is None or hit[0] != mtime:
        _models[path] = hit = (mtime, load_brancher(Path(path)))
    return hit[1]


def cached_graph(graph) -> NetworkGraph:
    for known, net in _graphs:
        if known is graph:
            return net
    net = network_graph(graph)
    _graphs[:] = [(graph, net)]
    return net


class GnnChooser:
    """Branching rule: `__call__(ctx)` -> flat neuron per domain [B] (-1: none left).
    `seconds` / `decisions` count the GNN's own inference; `fallbacks` the domains where
    BaBSR's choice was bounded too, `overruled` those where it won. `totals` sums them over
    every chooser of the process (what benchmarks read: `verify` does not return choosers)."""

    totals = {"seconds": 0.0, "decisions": 0, "calls": 0, "fallbacks": 0, "overruled": 0}

    def __init__(self, model: BranchGNN, threshold: float, graph, C: torch.Tensor,
                 net: NetworkGraph | None = None, score: str = "worse-child", candidates: int = 1) -> None:
        self.model, self.threshold, self.score, self.candidates = model, threshold, score, candidates
        self.features = Featurizer(graph, net if net is not None else cached_graph(graph), C)
        self.seconds, self.decisions, self.fallbacks, self.overruled = 0.0, 0, 0, 0

    @torch.no_grad()
    def scores(self, ctx: BranchContext) -> torch.Tensor:
        return self.model(self.features.net, self.features(ctx)).to(ctx.lower.device)

    def __call__(self, ctx: BranchContext) -> torch.Tensor:
        started = time.perf_counter()
        scores = self.scores(ctx).to(ctx.lower.dtype)
        choice = pick(scores, ctx)
        spent = time.perf_counter() - started
        self.seconds += spent
        self.decisions += int(choice.shape[0])
        GnnChooser.totals["seconds"] += spent
        GnnChooser.totals["decisions"] += int(choice.shape[0])
        GnnChooser.totals["calls"] += 1
        if ctx.bound_children is None:
            return choice
        if self.candidates > 1:
            return self.best_of_top(ctx, scores, choice)
        if ctx.lb is None or self.threshold <= 0:
            return choice
        valid = choice >= 0
        children = ctx.bound_children(choice.clamp(min=0))
        gain = (children.amin(dim=1) - ctx.lb) / ctx.lb.abs().clamp(min=1e-9)
        poor = valid & (gain < self.threshold)
        if not bool(poor.any()):
            return choice
        alternative = babsr(ctx)
        other = ctx.bound_children(torch.where(poor, alternative, choice).clamp(min=0))
        rank = lambda bounds: split_score(bounds, ctx.lb, self.score)  # noqa: E731
        better = poor & (alternative >= 0) & (rank(other) > rank(children))
        self.count(int(poor.sum()), int(better.sum()))
        return torch.where(better, alternative, choice)

    def best_of_top(self, ctx: BranchContext, scores: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """FSB with the GNN as its filter: of the GNN's best `candidates` and BaBSR's choice (the
        fail-safe of a poor model, bounded only where the GNN's list lacks it), the neuron whose
        bounded children rank best by `split_score`."""
        masked = torch.where(ctx.candidates(), scores, torch.full_like(scores, -float("inf")))
        values, flats = masked.topk(min(self.candidates, masked.shape[1]), dim=1)
        alternative = babsr(ctx)
        extra = (alternative >= 0) & ~(flats == alternative[:, None]).any(dim=1)
        values = torch.cat([values, torch.where(extra, 0.0, -float("inf")).to(values.dtype)[:, None]], dim=1)
        flats = torch.cat([flats, alternative.clamp(min=0)[:, None]], dim=1)
        chosen = best_by_children(ctx, values, flats, choice, self.score)
        self.count(int(extra.sum()), int((extra & (chosen == alternative)).sum()))
        return chosen

    def count(self, fallbacks: int, overruled: int) -> None:
        self.fallbacks += fallbacks
        self.overruled += overruled
        GnnChooser.totals["fallbacks"] += fallbacks
        GnnChooser.totals["overruled"] += overruled


def gnn_chooser(config, graph, C: torch.Tensor) -> GnnChooser:
    """The chooser for `config.brancher` (raises `BrancherFileError` for a bad file)."""
    model, threshold, _ = cached_brancher(config.brancher)
    if config.gnn_threshold is not None:
        threshold = config.gnn_threshold
    return GnnChooser(model, threshold, graph, C, score=split_score_of(config), candidates=config.gnn_candidates)
