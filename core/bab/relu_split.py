"""Branch and bound over ReLU phases, for networks with many inputs (MNIST, CIFAR).

A domain is the input box plus a split state per ReLU neuron (+1 active, -1 inactive,
0 free), stored as one int8 row [N] over all ReLU layers. Each step pops the worst
batch, splits each domain on the neuron its heuristic picked, bounds all children in
one α,β-CROWN call warm-started from the parent's α/β, closes those proven and
pushes the rest. A domain with no unstable neuron left is decided by an exact LP,
which makes the search complete.
"""

from __future__ import annotations

import functools
import time

import torch

from core.bab.bounding import DomainBounds, bound_domains, relu_layout
from core.bab.branching import HEURISTICS, BranchContext
from core.bab.budget import Budget
from core.bab.input_split import PointMargin
from core.bab.leaf_lp import LP_MARGIN, exact_leaf
from core.bab.outcome import Outcome, TryCounterexample
from core.bab.pool import Batch, select
from core.bab.search import Search
from core.bounds.beta import with_beta
from core.config import VerifyConfig
from core.model.ir import Interval

WARM = "warm:"


class ReluSplitSearch(Search):
    """One search over one box and one disjunct C [1, r, m], d [1, r]; `run` returns the `Outcome`."""

    step_target_s = 0.5

    def __init__(self, graph, C: torch.Tensor, d: torch.Tensor, config: VerifyConfig, point_margin: PointMargin,
                 try_counterexample: TryCounterexample, budget: Budget, margin: float,
                 memory_cap_bytes: float | None = None) -> None:
        super().__init__("relu", budget, config.batch_size, 16, memory_cap_bytes)
        self.graph, self.beta_graph = graph, with_beta(graph)
        self.C, self.d, self.config, self.margin = C, d, config, margin
        self.point_margin, self.try_counterexample = point_margin, try_counterexample
        self.layout = relu_layout(graph)
        self.offsets = [offset for _, offset, _ in self.layout]
        self.width = sum(size for _, _, size in self.layout)
        choose = HEURISTICS[config.relu_heuristic]
        if config.relu_heuristic == "fsb":
            choose = functools.partial(choose, per_layer=config.fsb_candidates)
        self.choose = choose
        self.undecided = 0

    def splits_of(self, split: torch.Tensor) -> dict[str, torch.Tensor]:
        """The [B, N] split rows as the per-node [B, *shape] tensors the bounding interface takes."""
        return {name: split[:, off:off + size].reshape(split.shape[0], *self.graph.node(name).shape)
                for name, off, size in self.layout}

    def bound(self, split: torch.Tensor, warm, method: str = "alpha") -> DomainBounds:
        B = split.shape[0]
        return bound_domains(self.beta_graph, self.lower.expand(B, -1), self.upper.expand(B, -1), self.C, self.d,
                             method, splits=self.splits_of(split), warm=warm,
                             alpha_iterations=self.config.alpha_iterations)

    def decide_branch(self, split: torch.Tensor, out: DomainBounds) -> torch.Tensor:
        """Per domain, the flat index of the neuron to split next (-1: none left)."""
        pre_l = torch.cat([out.pre[name].lower.flatten(1) for name, _, _ in self.layout], dim=1)
        pre_u = torch.cat([out.pre[name].upper.flatten(1) for name, _, _ in self.layout], dim=1)

        def bound_children(flat: torch.Tensor) -> torch.Tensor:
            left, right = self.children_splits(split, flat)
            both = self.bound(torch.cat([left, right]), None, "crown")
            return both.lb.amax(dim=1).view(2, -1).T

        return self.choose(BranchContext(pre_l, pre_u, split, self.offsets, None, bound_children))

    @staticmethod
    def children_splits(split: torch.Tensor, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.arange(split.shape[0], device=split.device)
        left, right = split.clone(), split.clone()
        left[rows, flat] = -1
        right[rows, flat] = 1
        return left, right

    def evaluate(self, split: torch.Tensor, warm) -> tuple[Batch, list[torch.Tensor]]:
        """Bound domains, pick their next split, decide fully split ones by LP.

        Returns the rows for the pool and the LP minimisers that are candidate counterexamples.
        """
        out = self.bound(split, warm)
        lb = out.lb.amax(dim=1).detach()
        with torch.no_grad():
            choice = self.decide_branch(split, out)
        candidates = []
        for i in ((choice < 0) & (lb <= self.margin)).nonzero().squeeze(1).tolist():
            pre = {k: Interval(v.lower[i:i + 1], v.upper[i:i + 1]) for k, v in out.pre.items()}
            value, x = exact_leaf(self.graph, self.lower, self.upper, self.C[0], self.d[0], pre)
            if value is not None and value > LP_MARGIN:
                lb[i] = value
            elif x is not None:
                candidates.append(x)
        batch = {"lb": lb, "split": split, "choice": choice}
        for key, value in (out.warm or {}).items():
            batch[WARM + key] = value.detach()
        return batch, candidates

    def run(self, lower: torch.Tensor, upper: torch.Tensor) -> Outcome:
        self.lower, self.upper = lower[None], upper[None]
        root, candidates = self.evaluate(torch.zeros(1, self.width, dtype=torch.int8, device=lower.device), None)
        root["id"] = torch.zeros(1, dtype=torch.long, device=lower.device)
        if self._settle(root, candidates):
            return self.outcome("sat")
        while len(self.pool):
            self.tick()
            started = time.monotonic()
            batch = self.pool.pop(self.batch_size)
            left, right = self.children_splits(batch["split"], batch["choice"])
            warm = {k[len(WARM):]: torch.cat([v, v]) for k, v in batch.items() if k.startswith(WARM)} or None
            try:
                children, candidates = self.evaluate(torch.cat([left, right]), warm)
            except torch.OutOfMemoryError:
                self.pool.push(batch)
                if not self.back_off():
                    return self.outcome("unknown", "out of memory with one domain per batch")
                continue
            splits = [("relu",) + self.neuron(int(f)) for f in batch["choice"].tolist()]
            l_ids, r_ids = self.tree.add_children(batch["id"].cpu(), splits)
            children["id"] = torch.cat([l_ids, r_ids]).to(left.device)
            self.count(int(children["lb"].shape[0]))
            if self._settle(children, candidates):
                return self.outcome("sat")
            self.adapt(time.monotonic() - started)
            if self.over_memory():
                return self.outcome("unknown", "memory cap reached")
        if self.undecided:
            return self.outcome("unknown", f"{self.undecided} fully split domains the LP could not decide")
        return self.outcome("unsat")

    def neuron(self, flat: int) -> tuple[str, int]:
        for name, off, size in self.layout:
            if off <= flat < off + size:
                return name, flat - off
        raise IndexError(flat)

    def _settle(self, batch: Batch, candidates: list[torch.Tensor]) -> bool:
        """Close proven domains, push the open ones; True once a counterexample is confirmed."""
        if candidates and self.try_counterexample(torch.stack(candidates)):
            return True
        proven = batch["lb"] > self.margin
        leaves = batch["choice"] < 0
        self.tree.close(batch["id"][proven].cpu(), batch["lb"][proven].cpu())
        self.undecided += int((leaves & ~proven).sum())
        self.pool.push(select(batch, ~proven & ~leaves))
        return False
