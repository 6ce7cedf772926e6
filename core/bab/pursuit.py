"""Pursuing counterexamples inside branch and bound (ReLU splitting and input splitting).

CROWN's candidate for a domain (`bounding.primal_points`) is a corner of the input box,
and input splitting's are corners and centres, so a counterexample inside a small region
of the box is never one of them. The planet LP of a domain (its split neurons exact, the
others relaxed over its bounds) has a minimiser that the splits pull into such a region,
and that moves towards the exact network's as the search fixes more phases or shrinks
its boxes. Each step the LPs of the most violated open domains are solved and their
minimisers become candidates (replayed in onnxruntime like the others), within a share of
the run's time.

A minimiser alone misses a bump that the relaxation flattens: where several ReLUs in a row
are relaxed (a saturating stage behind a gain), the LP pays a small fraction of what the
network pays for leaving the bump. So each LP is followed by a dive: the unstable neurons
the LP set strictly above their ReLU (the relaxation it exploits) are fixed to the phase of
their pre-activation there, and the LP solved again, until a minimiser violates the property, no neuron is relaxed (the
LP's point is then the network's own, its value the true margin) or the LP is infeasible.
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
DIVE = 6  # LPs per dive at most after the domain's own: each fixes the phases the last one relaxed
LOOSE = 1e-7  # a neuron is relaxed when the LP sets its output this far above its ReLU (relative)


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
        """The LP minimisers [n] of the PER_STEP open domains (`open_` [B]) with the lowest `lb`
        and of their dives;
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
            if lower.shape[0] > 1:  # a box per domain (input splitting)
                box = (lower[i:i + 1], upper[i:i + 1])
            else:
                box = (lower, upper)
            points.extend(self._dive(*box, rows.lower[i:i + 1].clone(), rows.upper[i:i + 1].clone()))
        return points

    def _dive(self, lower, upper, pre_l: torch.Tensor, pre_u: torch.Tensor) -> list[torch.Tensor]:
        """The minimisers [n] of a domain's LP and of the dive from it (module docstring), while
        the share allows; `pre_l`/`pre_u` [1, N] its ReLU rows, fixed in place as the dive goes."""
        points = []
        for _ in range(DIVE + 1):
            if not self.due():
                break
            solving = time.monotonic()
            solution = self._solve(lower, upper, ReluRows(pre_l, pre_u))
            self.cost = time.monotonic() - solving
            self.budget.pursuit_s += self.cost
            self.solved += 1
            if solution is None:
                break
            point, pre, post = solution
            points.append(point)
            if self._margin(point) <= 0:
                break  # a candidate already
            relaxed = (pre_l < 0) & (pre_u > 0) & (post - pre.clamp(min=0) > LOOSE * (pre_u - pre_l))
            if not bool(relaxed.any()):
                break
            pre_u[relaxed & (pre < 0)] = 0.0
            pre_l[relaxed & (pre >= 0)] = 0.0
        return points

    def _margin(self, x: torch.Tensor) -> float:
        """max_j (C_j y - d_j) at the point x [n], by the network in float64."""
        graph = self.affine.graph
        with torch.no_grad():
            y = graph.forward(x.to(torch.float64).reshape(1, *graph.input_shape))[0].reshape(-1).cpu().numpy()
        return float((self.C @ y - self.d).max())

    def _solve(self, lower, upper, rows: ReluRows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """argmin over the planet LP of one domain (`rows` [1, N], box `lower`/`upper` [1, n])
        of max_j (C_j y - d_j), min t with C y - d <= t: the input point [n] and every ReLU's
        input and output there, [1, N] as `rows`; None when HiGHS finds no solution."""
        graph = self.graph
        boxes = rows.boxes(graph, lower, upper)
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
        as_row = lambda names: torch.as_tensor(  # noqa: E731
            np.concatenate([res.x[program.offset[name]:program.offset[name] + self.affine.sizes[name]] for name in names]),
            dtype=rows.lower.dtype, device=rows.lower.device)[None]
        pre_row = as_row([node.inputs[0] for node in self.affine.relus])
        post_row = as_row([node.name for node in self.affine.relus])
        x = torch.as_tensor(res.x[:graph.input_size], dtype=lower.dtype, device=lower.device)
        return torch.minimum(torch.maximum(x, lower[0]), upper[0]), pre_row, post_row  # HiGHS's tolerance may step outside


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
