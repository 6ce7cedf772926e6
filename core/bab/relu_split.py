"""Branch and bound over ReLU phases, for networks with many inputs (MNIST, CIFAR).

A domain is the input box plus a split state per ReLU neuron (+1 active, -1 inactive,
0 free), stored as one int8 row [N] over all ReLU layers. Each step pops the worst
batch, splits each domain on the neuron its heuristic picked (while the frontier is
narrow, each child again on its own pick: `ReluSplitSearch.step`), bounds all children
in one α,β-CROWN call warm-started from the parent's α/β, closes those proven and
pushes the rest. A domain with no unstable neuron left is decided by an exact LP,
which makes the search complete.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import torch

from core.bab.bounding import (ReluRows, backward_from_rows, bound_domains, optimise_from_rows, primal_points,
                               relu_layout)
from core.bab.branching import HEURISTICS, BranchContext, split_score_of
from core.bab.budget import Budget
from core.bab.input_split import PointMargin
from core.bab.leaf_lp import LP_MARGIN, exact_leaf
from core.bab.outcome import Outcome, TryCounterexample
from core.bab.pool import Batch, select
from core.bab.pursuit import LpPursuit
from core.bab.search import OutOfMemory, Search
from core.bab.stratify import DualStage
from core.bounds.beta import with_beta
from core.config import VerifyConfig

WARM = "warm:"
MAX_CANDIDATES = 8  # per step, points replayed in onnxruntime


def chooser(config: VerifyConfig, graph, C: torch.Tensor) -> Callable[[BranchContext], torch.Tensor]:
    """The branching rule `config.relu_heuristic` names, for a search of `graph` against C [1, r, m]."""
    if config.relu_heuristic == "gnn":
        from core.bab.learned.brancher import gnn_chooser

        return gnn_chooser(config, graph, C[0])
    choose = HEURISTICS[config.relu_heuristic]
    if config.relu_heuristic == "fsb":
        choose = functools.partial(choose, per_layer=config.fsb_candidates, score=split_score_of(config))
    return choose


class ReluSplitSearch(Search):
    """One search over one box and one disjunct C [1, r, m], d [1, r]; `run` returns the `Outcome`."""

    step_target_s = 0.5

    def __init__(self, graph, C: torch.Tensor, d: torch.Tensor, config: VerifyConfig, point_margin: PointMargin,
                 try_counterexample: TryCounterexample, budget: Budget, margin: float,
                 memory_cap_bytes: float | None = None) -> None:
        super().__init__("relu", budget, config.batch_size, 16, memory_cap_bytes)
        self.tree.intermediate = "inherit"  # a child's bounds are its parent's, clamped at the split
        self.graph, self.beta_graph = graph, with_beta(graph)
        self.C, self.d, self.config, self.margin = C, d, config, margin
        self.point_margin, self.try_counterexample = point_margin, try_counterexample
        self.layout = relu_layout(graph)
        self.offsets = [offset for _, offset, _ in self.layout]
        self.width = sum(size for _, _, size in self.layout)
        self.choose = chooser(config, graph, C)
        self.undecided = 0
        self.duals = DualStage(graph, self.beta_graph, config)
        self.pursuit = LpPursuit(graph, C[0], d[0], config.pursuit_share, budget)
        # fully split domains neither bound nor LP proved: (ids, bounds, evidence)
        self.unproven: list[tuple[torch.Tensor, torch.Tensor, list[dict]]] = []

    def splits_of(self, split: torch.Tensor) -> dict[str, torch.Tensor]:
        """The [B, N] split rows as the per-node [B, *shape] tensors the bounding interface takes."""
        return {name: split[:, off:off + size].reshape(split.shape[0], *self.graph.node(name).shape)
                for name, off, size in self.layout}

    @staticmethod
    def children(split: torch.Tensor, rows: ReluRows, flat: torch.Tensor) -> tuple[torch.Tensor, ReluRows]:
        """Both children of each domain split at neuron `flat` [B]: inactive ones first, then
        active ones; their pre-activation bounds are the parent's clamped at that neuron."""
        idx = torch.arange(split.shape[0], device=split.device)
        left, right = split.clone(), split.clone()
        left[idx, flat], right[idx, flat] = -1, 1
        left_u, right_l = rows.upper.clone(), rows.lower.clone()
        left_u[idx, flat], right_l[idx, flat] = 0.0, 0.0
        return torch.cat([left, right]), ReluRows(torch.cat([rows.lower, right_l]), torch.cat([left_u, rows.upper]))

    def decide_branch(self, split: torch.Tensor, rows: ReluRows, warm, lb: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per domain, the flat index of the neuron to split next (-1: none left), and the
        domains' lower bounds [B]: `lb` when given, else those of the backward pass with
        `warm` that gives the rule its coefficients."""
        record: dict[str, torch.Tensor] = {}
        crown = backward_from_rows(self.beta_graph, self.lower, self.upper, rows, self.C, self.d, warm, record)
        if lb is None:
            lb = crown.amax(dim=1).detach()
        coefficient = torch.cat([record[name].sum(0).flatten(1) for name, _, _ in self.layout], dim=1)
        doubled = None if warm is None else {k: torch.cat([v, v]) for k, v in warm.items()}

        def bound_children(flat: torch.Tensor) -> torch.Tensor:
            _, child_rows = self.children(split, rows, flat)
            lb = backward_from_rows(self.beta_graph, self.lower, self.upper, child_rows, self.C, self.d, doubled)
            return lb.amax(dim=1).view(2, -1).T

        return self.choose(BranchContext(rows.lower, rows.upper, split, self.offsets, coefficient, bound_children,
                                         lb, warm, (self.lower, self.upper))), lb

    def evaluate(self, split: torch.Tensor, rows: ReluRows, warm, lb: torch.Tensor | None = None
                 ) -> tuple[Batch, list[torch.Tensor], dict[int, dict]]:
        """Bound domains (unless `lb` is given), pick their next split, decide fully split ones by LP.

        Returns the rows for the pool, the LP minimisers that are candidate counterexamples,
        and per row decided by LP its dual multipliers (certificate evidence).
        """
        if lb is None:
            lb, warm = optimise_from_rows(self.beta_graph, self.lower, self.upper, rows, self.C, self.d, warm,
                                          self.config.alpha_iterations, interrupt=self.budget.check)
        lb = lb.amax(dim=1).detach()
        decided = self.bound_hard_domains(split, rows, warm, lb)
        choice, _ = self.decide_branch(split, rows, warm, lb)
        open_ = lb <= self.margin
        candidates = []
        if bool(open_.any()):
            points = primal_points(self.beta_graph, self.lower, self.upper, ReluRows(rows.lower[open_], rows.upper[open_]),
                                   self.C, self.d, None if warm is None else {k: v[open_] for k, v in warm.items()})
            pursued = self.pursuit.candidates(self.lower, self.upper, rows, lb, open_ & (choice >= 0))
            if pursued:
                points = torch.cat([torch.stack(pursued), points])
            with torch.no_grad():
                unsafe = self.point_margin(points) <= 0
            candidates.extend(points[unsafe][:MAX_CANDIDATES])
        for i in ((choice < 0) & (lb <= self.margin)).nonzero().squeeze(1).tolist():
            pre = ReluRows(rows.lower[i:i + 1], rows.upper[i:i + 1]).boxes(self.graph, self.lower, self.upper)
            pre = {name: pre[self.graph.node(name).inputs[0]] for name, _, _ in self.layout}
            value, x, evidence = exact_leaf(self.graph, self.lower[0], self.upper[0], self.C[0], self.d[0], pre)
            if value is not None and value > LP_MARGIN:
                lb[i] = value
                decided[i] = evidence or {}
            elif x is not None:
                candidates.append(x)
        batch = {"lb": lb, "split": split, "choice": choice, "pre_l": rows.lower, "pre_u": rows.upper}
        for key, value in (warm or {}).items():
            batch[WARM + key] = value.detach()
        return batch, candidates, decided

    def bound_hard_domains(self, split: torch.Tensor, rows: ReluRows, warm, lb: torch.Tensor) -> dict[int, dict]:
        """Bound the hard open domains again by the Anderson duals (`core.bab.stratify`),
        raising `lb` in place; the evidence of each domain they close."""
        hard = self.duals.pick(split, lb, self.margin)
        if not bool(hard.any()):
            return {}
        index = hard.nonzero().squeeze(1)
        picked = ReluRows(rows.lower[index], rows.upper[index])
        value, duals = self.duals.bound(self.lower, self.upper, picked, self.C, self.d,
                                        None if warm is None else {k: v[index] for k, v in warm.items()},
                                        self.budget.check)
        best = value.amax(dim=1).detach()
        decided = {}
        for j, i in enumerate(index.tolist()):
            if best[j] > lb[i]:
                lb[i] = best[j]
                if best[j] > self.margin:
                    decided[i] = self.duals.evidence(duals, j)
                    self.duals.closed += 1
        return decided

    def adopt(self, lower: torch.Tensor, upper: torch.Tensor) -> None:
        """Take the box lower/upper [n] as the searched one without bounding it: the pool is
        then filled with domains of it bounded elsewhere (a sub-search, core.verifier.parallel)."""
        self.lower, self.upper = lower[None], upper[None]
        self.rooted = True

    def run(self, lower: torch.Tensor, upper: torch.Tensor, root_rows: ReluRows | None = None) -> Outcome:
        """Search the box lower/upper [n]; `root_rows` [1, N]: the root's pre-activation bounds
        when the caller has tighter ones than CROWN's (`core.verifier.roots`), which every
        domain then inherits."""
        self.lower, self.upper = lower[None], upper[None]
        split = torch.zeros(1, self.width, dtype=torch.int8, device=lower.device)
        if root_rows is None:
            out = bound_domains(self.beta_graph, self.lower, self.upper, self.C, self.d, "alpha",
                                alpha_iterations=self.config.alpha_iterations)
            root_rows, lb, warm = ReluRows.of(self.graph, out.pre), out.lb, out.warm
        else:
            lb, warm = optimise_from_rows(self.beta_graph, self.lower, self.upper, root_rows, self.C, self.d, None,
                                          self.config.alpha_iterations, interrupt=self.budget.check)
        root, candidates, decided = self.evaluate(split, root_rows, warm, lb)
        root["id"] = torch.zeros(1, dtype=torch.long, device=lower.device)
        self.rooted = True
        if self._settle(root, candidates, decided):
            return self.outcome("sat")
        return self.resume()

    def resume(self) -> Outcome:
        """The search loop, from the pool as it is (`Search`: what `run` leaves after a `Stop`)."""
        self.require_root()
        while len(self.pool):
            self.tick()
            started = time.monotonic()
            batch = self.pool.pop(self.next_batch())
            try:
                stepped = self.attempt(batch, lambda: self.step(batch))
            except OutOfMemory as exc:
                return self.outcome("unknown", str(exc))
            if stepped is None:
                continue
            (children, candidates, decided), second = stepped
            children["id"] = self.grow_tree(batch, second).to(children["lb"].device)
            self.count(int(children["lb"].shape[0]))
            if self._settle(children, candidates, decided):
                return self.outcome("sat")
            # the rate per parent of two children, which a step of four children per parent would overstate
            self.adapt(time.monotonic() - started, int(children["lb"].shape[0]) // 2)
            if self.over_memory():
                return self.outcome("unknown", "memory cap reached")
        if self.undecided:
            return self.outcome("unknown", f"{self.undecided} fully split domains the LP could not decide")
        return self.outcome("unsat")

    def step(self, batch: Batch) -> tuple[tuple[Batch, list[torch.Tensor], dict[int, dict]], torch.Tensor | None]:
        """Split the popped domains and evaluate their children: what `evaluate` returns, and
        per child the neuron it was split on again (`second`, -1: kept as it is; None: no
        child was). While a step pops at most `config.double_split_max` domains (a narrow
        frontier) and at most half the batch size (which caps a step's work), each child
        that one backward pass with its parent's α/β leaves open is split again on its own
        choice, and the four grandchildren are evaluated in the same step: on CPU a step's
        cost grows far more slowly than its domains at small batches, so a narrow search's
        time follows its depth, which this halves."""
        split, rows = self.children(batch["split"], ReluRows(batch["pre_l"], batch["pre_u"]), batch["choice"])
        warm = {k[len(WARM):]: torch.cat([v, v]) for k, v in batch.items() if k.startswith(WARM)} or None
        second = None
        if int(batch["lb"].shape[0]) <= min(self.config.double_split_max, self.batch_size // 2):
            second, lb = self.decide_branch(split, rows, warm)
            second = torch.where(lb <= self.margin, second, torch.full_like(second, -1))
            again = second >= 0
            if bool(again.any()):
                grand, grand_rows = self.children(split[again], ReluRows(rows.lower[again], rows.upper[again]),
                                                  second[again])
                kept = ~again
                split = torch.cat([split[kept], grand])
                rows = ReluRows(torch.cat([rows.lower[kept], grand_rows.lower]),
                                torch.cat([rows.upper[kept], grand_rows.upper]))
                if warm is not None:
                    warm = {k: torch.cat([v[kept], v[again], v[again]]) for k, v in warm.items()}
            else:
                second = None
        return self.evaluate(split, rows, warm), second

    def grow_tree(self, batch: Batch, second: torch.Tensor | None) -> torch.Tensor:
        """Record a step's splits in the proof tree (after the step, so that a step cut short
        leaves no node behind); the ids of its evaluated children, in `step`'s order."""
        splits = [("relu",) + self.neuron(int(f)) for f in batch["choice"].tolist()]
        l_ids, r_ids = self.tree.add_children(batch["id"].cpu(), splits)
        ids = torch.cat([l_ids, r_ids])
        if second is None:
            return ids
        second = second.cpu()
        again = second >= 0
        splits = [("relu",) + self.neuron(int(f)) for f in second[again].tolist()]
        l_ids, r_ids = self.tree.add_children(ids[again], splits)
        return torch.cat([ids[~again], l_ids, r_ids])

    def neuron(self, flat: int) -> tuple[str, int]:
        for name, off, size in self.layout:
            if off <= flat < off + size:
                return name, flat - off
        raise IndexError(flat)

    def _settle(self, batch: Batch, candidates: list[torch.Tensor], decided: dict[int, dict]) -> bool:
        """Close proven domains, push the open ones; True once a counterexample is confirmed."""
        if candidates and self.try_counterexample(torch.stack(candidates)):
            return True
        proven = batch["lb"] > self.margin
        leaves = batch["choice"] < 0
        self.tree.close(batch["id"][proven].cpu(), batch["lb"][proven].cpu(), evidence=_evidence(batch, proven, decided))
        self.undecided += int((leaves & ~proven).sum())
        stuck = leaves & ~proven
        self.drop(batch["lb"][stuck])
        if bool(stuck.any()):
            self.unproven.append((batch["id"][stuck].cpu(), batch["lb"][stuck].cpu(), _evidence(batch, stuck, decided)))
        self.pool.push(select(batch, ~proven & ~leaves))
        return False

    def close_frontier(self) -> None:
        """Close every domain still open (the pool, and fully split ones left unproven) as a
        leaf with its bound and evidence. The tree then covers the whole box, and the
        smallest bound among its leaves holds over it: what an intermediate-bound lemma
        (`core.verifier.lemmas`) proves after a search stopped short of its goal."""
        if len(self.pool):
            batch = self.pool.pop(len(self.pool))
            every = torch.ones_like(batch["lb"], dtype=torch.bool)
            self.unproven.append((batch["id"].cpu(), batch["lb"].cpu(), _evidence(batch, every, {})))
        for ids, bounds, evidence in self.unproven:
            self.tree.close(ids, bounds, evidence=evidence)
        self.unproven = []


def _evidence(batch: Batch, proven: torch.Tensor, decided: dict[int, dict]) -> list[dict]:
    """Per proven domain, what re-derives its bound: the LP's multipliers where an LP decided
    it, else its α (slope channel) and β (multiplier channel) per ReLU layer, [rows, size]."""
    warm = {k[len(WARM):]: v[proven].detach().cpu().numpy() for k, v in batch.items() if k.startswith(WARM)}
    out = []
    for j, i in enumerate(proven.nonzero().squeeze(1).tolist()):
        if i in decided:
            out.append(decided[i])
            continue
        params = {name: v[j].reshape(v.shape[1], 2, -1) for name, v in warm.items()}
        out.append({"alpha": {name: p[:, 0] for name, p in params.items()},
                    "beta": {name: p[:, 1] for name, p in params.items()}} if params else {})
    return out
