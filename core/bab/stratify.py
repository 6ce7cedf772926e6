"""Stratified bounding: open domains near the top of a ReLU-split tree get the Anderson duals.

α,β-CROWN bounds every domain; a domain it leaves open at most `dual_max_depth` splits
deep, once the search has run `dual_after_s` seconds, is bounded again by a dual solver
on the Anderson relaxation (`core.bounds.anderson`), with the same pre-activation
bounds, started from its α/β. Near the top is where it pays: with many unstable
neurons the Anderson relaxation is much tighter than the planet one (on mnist_fc 256x4
it lifted open bounds by 59% of their value at depths 0-3, 28% at 8-11 and nothing past
12, docs/results/anderson.md), and a domain closed there saves its whole subtree. The
extra work is capped at `dual_share` of the search's time. A domain the duals close
carries their multipliers as its certificate evidence.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from core.bab.bounding import ReluRows, batch_first
from core.bounds.anderson import SolverOptions, Unsupported, anderson_net, solve
from core.bounds.anderson.lagrangian import Multipliers, evaluate
from core.bounds.anderson.relaxation import relaxation
from core.bounds.anderson.start import from_backward_pass
from core.bounds.crown import spec_coefficients
from core.bounds.plan import plan_for
from core.config import VerifyConfig
from core.model.ir import Graph


class DualStage:
    """Decides which open domains get the dual solver, runs it, and keeps its time share."""

    def __init__(self, graph: Graph, beta_graph: Graph, config: VerifyConfig) -> None:
        self.graph, self.beta_graph, self.config = graph, beta_graph, config
        self.method = config.dual_bounding
        self.net = None
        if self.method != "off":
            try:
                # the plain graph: the same layers, and one cached chain for every search of a run
                # (each search wraps its own β graph)
                self.net = anderson_net(graph)
            except Unsupported:
                self.method = "off"
        if self.method == "auto":
            self.method = "active-set"
        self.started = time.monotonic()
        self.spent = 0.0
        self.domains = 0
        self.closed = 0

    def pick(self, split: torch.Tensor, lb: torch.Tensor, margin: float) -> torch.Tensor:
        """[B] bool: open domains shallow enough, when the search is old enough and within its share."""
        none = torch.zeros_like(lb, dtype=torch.bool)
        if self.method == "off":
            return none
        age = time.monotonic() - self.started
        if age < self.config.dual_after_s or self.spent > self.config.dual_share * age:
            return none
        depth = (split != 0).sum(1)
        return (lb <= margin) & (depth <= self.config.dual_max_depth)

    def bound(self, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, C: torch.Tensor, d: torch.Tensor,
              warm: dict[str, torch.Tensor] | None, interrupt) -> tuple[torch.Tensor, Multipliers]:
        """Dual lower bounds [B, r] of the domains with ReLU input bounds `rows`, and the multipliers."""
        started = time.monotonic()
        try:
            B = rows.lower.shape[0]
            boxes = rows.boxes(self.beta_graph, lower, upper)
            relax = relaxation(self.net, boxes[self.beta_graph.input_name],
                               {layer.relu: boxes[layer.pre] for layer in self.net.layers})
            A = spec_coefficients(C, B, self.beta_graph.output_shape)
            start = from_backward_pass(plan_for(self.beta_graph), boxes, A, relax,
                                       None if warm is None else batch_first(warm))
            options = SolverOptions(iterations=self.config.dual_iterations)
            objective = self.net.objective(C, d)
            _, duals = solve(self.method, relax, objective, start, options, interrupt)
            # as the certificate stores them: float32 values, the Anderson part on unstable neurons
            # only; the bound claimed is the one these give (what the checker recomputes)
            duals = Multipliers(*([t.clamp(min=0).to(torch.float32).to(t.dtype) for t in part] for part in duals.parts()))
            for k, bounds in enumerate(relax.layers):
                duals.cut[k] = duals.cut[k] * bounds.unstable
                duals.mask[k] = torch.minimum(duals.mask[k], duals.cut[k].unsqueeze(-1))
            with torch.no_grad():
                value, _ = evaluate(relax, objective, duals)
            return value.T, duals
        finally:
            self.spent += time.monotonic() - started
            self.domains += int(rows.lower.shape[0])

    def evidence(self, duals: Multipliers, index: int) -> dict:
        """The certificate evidence of domain `index`: per ReLU layer its multipliers [k, size]
        (the mask [k, size, K])."""
        out = {}
        for k, layer in enumerate(self.net.layers):
            out[layer.relu] = {name: _array(part[k][:, index]) for name, part in
                               zip(("alpha", "beta0", "beta1", "cut", "mask"), duals.parts())}
        return {"anderson": out}


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
