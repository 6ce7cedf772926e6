"""Pursuing counterexamples inside branch and bound (ReLU splitting and input splitting).

CROWN's candidate for a domain (`bounding.primal_points`) is a corner of the input box,
and input splitting's are corners and centres, so a counterexample inside a small region
of the box is never one of them. The planet LP of a domain (its split neurons exact, the
others relaxed over its bounds) has a minimiser that the splits pull into such a region,
and that moves towards the exact network's as the search fixes more phases or shrinks
its boxes. Each step the LPs of the most violated open domains are solved and their
minimisers become candidates (replayed in onnxruntime like the others), within a share of
the run's time.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import linprog

from core.bab.bounding import ReluRows
from core.bab.budget import Budget
from core.bounds.lp import AffinePart, build_program
from core.model.ir import Graph, Interval
from core.model.operator import Affine
from core.model.ops.conv import Conv
from core.model.ops.linear import Linear

PER_STEP = 2  # LPs per search step at most: the most violated open domains
# Dense matrix elements the affine part may take to build (linear_backward of the identity):
# beyond it (CIFAR convolutional networks) the LP is too large to pay, and there is no pursuit.
MAX_ELEMENTS = 20_000_000
# An LP's time per nonzero of those matrices, before one is measured (HiGHS: planted fc24, 3e3
# nonzeros, 25 ms; mnist_fc 256x6, 1.1e6, 12 s)
SECONDS_PER_NONZERO = 1e-5
# An LP expected to take less than this may run whatever the share says: the root's, on small
# networks, where its minimiser alone found most planted counterexamples (docs/results/planted.md)
FREE_S = 0.05
MIN_LP_S = 0.1  # HiGHS's time limit at least (an LP that starts just before the deadline)


class LpPursuit:
    """Candidates from the planet LP of the most violated open domains of a search for the
    disjunct C [r, m], d [r] (C y <= d unsafe), spending
    at most `share` of the run's time so far (`budget`: its `elapsed` time and the LPs'
    `pursuit_s`, every search's together, so that the searches of many disjuncts share one
    allowance): an LP is solved only when the LPs' time, plus the last one's cost (before
    the first: an estimate from the network's size), stays within it; a search's first
    also when it is expected to take under FREE_S."""

    def __init__(self, graph: Graph, C: torch.Tensor, d: torch.Tensor, share: float, budget: Budget) -> None:
        self.graph, self.share, self.budget = graph, share, budget
        self.C, self.d = C.detach().double().cpu().numpy(), d.detach().double().cpu().numpy()
        self.affine: AffinePart | None = None
        dense, nonzero = _affine_elements(graph)
        self.usable = share > 0 and dense <= MAX_ELEMENTS
        self.cost = SECONDS_PER_NONZERO * nonzero  # of one LP: estimated, then measured
        self.solved = 0

    def due(self) -> bool:
        """Whether one more LP fits in the share of the time so far."""
        if not self.usable:
            return False
        spent = self.budget.pursuit_s
        return spent + self.cost <= self.share * self.budget.elapsed or (self.solved == 0 and self.cost < FREE_S)

    def candidates(self, lower: torch.Tensor, upper: torch.Tensor, rows: ReluRows, lb: torch.Tensor,
                   open_: torch.Tensor) -> list[torch.Tensor]:
        """The LP minimisers [n] of the PER_STEP open domains (`open_` [B]) with the lowest `lb`;
        `lower`/`upper` [1, n] the box of all (ReLU splitting) or [B, n] one per domain."""
        if not bool(open_.any()) or not self.due():
            return []
        if self.affine is None:
            building = time.monotonic()
            try:
                self.affine = AffinePart(self.graph)
            except ValueError:  # activations other than ReLU: no LP
                self.usable = False
                return []
            self.budget.pursuit_s += time.monotonic() - building
        index = open_.nonzero().squeeze(1)
        points = []
        for i in index[torch.argsort(lb[index])][:PER_STEP].tolist():
            if not self.due():
                break
            solving = time.monotonic()
            point = self._minimiser(lower, upper, rows, i)
            self.cost = time.monotonic() - solving
            self.budget.pursuit_s += self.cost
            self.solved += 1
            if point is not None:
                points.append(point)
        return points

    def _minimiser(self, lower, upper, rows: ReluRows, i: int) -> torch.Tensor | None:
        """argmin over domain i's planet LP of max_j (C_j y - d_j): min t with C y - d <= t."""
        graph = self.graph
        if lower.shape[0] > 1:  # a box per domain (input splitting)
            lower, upper = lower[i:i + 1], upper[i:i + 1]
        boxes = ReluRows(rows.lower[i:i + 1], rows.upper[i:i + 1]).boxes(graph, lower, upper)
        pre = {node.name: boxes[node.inputs[0]] for node in self.affine.relus}
        box = Interval(lower.reshape(1, *graph.input_shape), upper.reshape(1, *graph.input_shape))
        program = build_program(graph, box, pre, exact=False, affine=self.affine)
        A_eq, b_eq, A_ub, b_ub = program.stacked()
        n = program.lo.size
        Cn, dn = self.C, self.d
        out = program.offset[graph.output_name]
        spec = sp.lil_matrix((len(dn), n + 1))
        spec[:, out:out + Cn.shape[1]] = Cn
        spec[:, n] = -1.0
        A_ub = sp.vstack([sp.hstack([A_ub, sp.csr_matrix((A_ub.shape[0], 1))]), spec.tocsr()]).tocsr()
        A_eq = sp.hstack([A_eq, sp.csr_matrix((A_eq.shape[0], 1))]).tocsr()
        cost = np.zeros(n + 1)
        cost[n] = 1.0
        bounds = np.c_[np.r_[program.lo, -np.inf], np.r_[program.hi, np.inf]]
        # HiGHS cannot be interrupted: its own time limit keeps it within the run's deadline
        res = linprog(cost, A_ub=A_ub, b_ub=np.r_[b_ub, dn], A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs",
                      options={"time_limit": max(MIN_LP_S, self.budget.remaining)})
        if res.status != 0:
            return None
        x = torch.as_tensor(res.x[:graph.input_size], dtype=lower.dtype, device=lower.device)
        return torch.minimum(torch.maximum(x, lower[0]), upper[0])  # HiGHS's tolerance may step outside


def _affine_elements(graph: Graph) -> tuple[int, int]:
    """(dense, nonzero): the elements of the matrices `AffinePart` builds (out x in per affine
    node input), and about how many are nonzero: all of a Linear's, out x the kernel's size of a
    convolution's, one per output of any other (reshapes, slices, scalings)."""
    sizes = {graph.input_name: graph.input_size} | {n.name: int(np.prod(n.shape)) for n in graph.nodes}
    dense = nonzero = 0
    for node in graph.nodes:
        if isinstance(node.op, Affine):
            for source in node.inputs:
                dense += sizes[node.name] * sizes[source]
                per_output = (sizes[source] if isinstance(node.op, Linear) else
                              node.op.weight[0].numel() if isinstance(node.op, Conv) else 1)
                nonzero += sizes[node.name] * per_output
    return dense, nonzero
