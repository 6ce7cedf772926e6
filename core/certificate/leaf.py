"""Sound lower bounds for a batch of leaves: the network's boxes (IBP intersected with
CROWN at every activation's input, or inherited from the parent, then the leaf's splits), and the
final bound on each row combination of C y - d with the leaf's own parameters, clamped to
their valid ranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.certificate.anderson import AndersonForm, anderson_lower_bounds
from core.certificate.network import Activation, Chain, Linear, Relu
from core.certificate.soundness import TIE, UnitRows, backward, forward, relu_lines
from core.certificate.sshaped import s_lines
from core.certificate.tree import Domains
from core.spec.property import Conjunction

WORK_ELEMENTS = 2 ** 24  # float64 elements of one backward pass's coefficients (128 MiB)


@dataclass
class NetworkBoxes:
    """`boxes[i]` bounds the input of chain step i ([L, size] each, ReLU inputs after splits),
    `relax[i]` the default relaxation (lw, lb, uw, ub) [L, 1, size] at activation i, `output` the network output's box, and
    `empty` [L] the leaves whose splits contradict each other (they hold no input)."""

    boxes: list[tuple[np.ndarray, np.ndarray]]
    relax: dict[int, tuple]
    output: tuple[np.ndarray, np.ndarray]
    empty: np.ndarray

    def select(self, rows: np.ndarray) -> "NetworkBoxes":
        return NetworkBoxes([(lo[rows], hi[rows]) for lo, hi in self.boxes],
                            {i: tuple(a[rows] for a in r) for i, r in self.relax.items()},
                            (self.output[0][rows], self.output[1][rows]), self.empty[rows])


def network_boxes(chain: Chain, domains: Domains, inherited: dict[int, tuple] | None = None,
                  recompute: bool = True, every_neuron: bool = False, within: bool = False,
                  slopes: dict[int, dict[int, np.ndarray]] | None = None,
                  tick: Callable[[], None] | None = None,
                  clamp: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> NetworkBoxes:
    """The boxes of a batch of domains. `inherited[i]`: the parents' boxes at ReLU i, valid
    here too (a child's domain lies inside its parent's): intersected with the node's own
    (`recompute`) or taken as they are. CROWN bounds the neurons the interval box leaves
    unstable (`every_neuron`: all of them, as format version 1 says; `within`: the interval
    box intersected with the parents' first, so neurons they prove stable get no pass).
    `slopes[i][j]` [2 n, m]: the lower slopes of ReLU step j on the pass bounding step i's
    input, one row per bound (`_tighten`); absent: the adaptive slopes. `tick` is called
    before each activation's bounds and each of their backward passes (the checker's time
    limit raises from it). `clamp[i]` = (lower, upper) [size]: bounds on step i's input that
    lemmas prove (check.py), intersected after `inherited` and before the splits, as the
    verifier's `optimised_boxes` applies them."""
    boxes, relax, empty = [], {}, np.zeros(len(domains.lower), dtype=bool)
    lo, hi = domains.lower, domains.upper
    for i, step in enumerate(chain.steps):
        if isinstance(step, Activation):
            if tick is not None:
                tick()
            relu = isinstance(step, Relu)
            if inherited is not None and not recompute:
                lo, hi = inherited[i]
            else:
                if inherited is not None and within:
                    lo, hi = np.maximum(lo, inherited[i][0]), np.minimum(hi, inherited[i][1])
                # the verifier bounds every neuron of a Sigmoid/Tanh input (none is "stable")
                lo, hi = _tighten(chain, boxes, relax, i, lo, hi, every_neuron or not relu, (slopes or {}).get(i), tick)
            if inherited is not None:
                lo, hi = np.maximum(lo, inherited[i][0]), np.minimum(hi, inherited[i][1])
            if clamp is not None and i in clamp:
                lo, hi = np.maximum(lo, clamp[i][0]), np.minimum(hi, clamp[i][1])
            if relu:
                lo = np.where(domains.active[step.name], np.maximum(lo, 0.0), lo)
                hi = np.where(domains.inactive[step.name], np.minimum(hi, 0.0), hi)
            empty |= np.any(lo > hi, axis=1)
            lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
            relax[i] = lines(step, lo[:, None, :], hi[:, None, :], None)
        boxes.append((lo, hi))
        lo, hi = forward(step, lo, hi)
    return NetworkBoxes(boxes, relax, (lo, hi), empty)


def leaf_lower_bounds(chain: Chain, conjunction: Conjunction, net: NetworkBoxes,
                      params: dict[str, np.ndarray], anderson: AndersonForm | None = None) -> np.ndarray:
    """[L] sound lower bounds of the leaves' best row combination of (C y - d), or of a
    single row over the output box (+inf for empty leaves). `params`: "rows" [L, k, r]
    (negative weights count as 0),
    optional "alpha:<activation>" / "beta:<relu>" [L, k, size] (NaN means the default) and
    "pre_lower:<relu>" / "pre_upper:<relu>" [L, size], bounds widened to their hull with
    the proven ones (NaN keeps the proven end). With `anderson` (the chain's form), leaves
    carrying "anderson_<part>:<relu>" multipliers also get their Lagrangian bound over the
    same boxes (anderson.py), and keep the better of the two."""
    spec = Linear(np.asarray(conjunction.C, np.float64), -np.asarray(conjunction.d, np.float64))
    steps = chain.steps + [spec]
    boxes = list(net.boxes) + [net.output]
    final, beta = {}, {}
    for i, step in enumerate(chain.steps):
        if isinstance(step, Activation):
            lo, hi = net.boxes[i]
            if f"pre_lower:{step.name}" in params:
                # the hull of a proven box and anything else still contains every reachable value
                lo = np.fmin(lo, params[f"pre_lower:{step.name}"])
                hi = np.fmax(hi, params[f"pre_upper:{step.name}"])
                boxes[i] = (lo, hi)
            final[i] = lines(step, lo[:, None, :], hi[:, None, :], params.get(f"alpha:{step.name}"))
            if f"beta:{step.name}" in params:
                b = params[f"beta:{step.name}"]
                beta[i] = np.where(np.isnan(b), 0.0, np.maximum(b, 0.0))
    rows = np.fmax(params["rows"], 0.0)  # only a nonnegative combination being > 0 refutes the disjunct
    crown = backward(steps, boxes, rows, len(steps), final, beta, chain.runs)
    # each combination of C y - d over the output box alone, and each single row
    interval = backward([spec], [net.output], rows, 1, {}, {})
    single = forward(spec, *net.output)[0].max(axis=1)
    best = np.maximum(np.maximum(crown, interval).max(axis=1), single)
    if anderson is not None:
        best = np.maximum(best, anderson_lower_bounds(anderson, conjunction, boxes, params))
    return np.where(net.empty, np.inf, best)


def lines(step: Activation, lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray | None) -> tuple:
    """The activation's lines (lw, lb, uw, ub) over [lo, hi] with the certificate's `alpha`
    (ReLU: lower slopes; Sigmoid/Tanh: tangent points, see sshaped.py)."""
    if isinstance(step, Relu):
        lw, uw, ub = relu_lines(lo, hi, alpha)
        return lw, np.zeros_like(ub), uw, ub
    return s_lines(step, lo, hi, alpha)


def _tighten(chain: Chain, boxes, relax, i, lo, hi, every_neuron: bool,
             slopes: dict[int, np.ndarray] | None = None,
             tick: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Intersect the interval box of step i's input with CROWN's (adaptive slopes), on the
    neurons it leaves unstable (a stable neuron's relaxation is exact whatever its box;
    the verifier keeps the interval box there, and CROWN is not monotone in the boxes,
    so re-deriving its bounds means doing the same). `slopes[j]` [2 n, m]: each bound's own
    lower slopes at ReLU step j (row r < n: neuron r's lower bound, n + r: its upper bound;
    NaN adaptive, others clamped to [0, 1] by `lines`), the α-CROWN intermediate bounds.

    Each domain bounds only its own unstable neurons: domains are grouped by how many they
    have (`_groups`) and each group's rows padded to its largest count, instead of every
    domain paying for the union of the batch's (a row's bound does not depend on the others).
    A group's rows go through the network `WORK_ELEMENTS` coefficients at a time, `tick`
    called before each pass (tllverifybench N=64: 8192 rows of 8192 would be 0.5 GB and
    tens of seconds in one)."""
    band = TIE * (hi - lo)
    open_ = np.ones(lo.shape, dtype=bool) if every_neuron else (lo < band) & (hi > -band)
    lo, hi = lo.copy(), hi.copy()
    n = lo.shape[1]
    widest = max(chain.sizes[: i + 1])
    for members, neurons, valid in _groups(open_):
        mine = [(b_lo[members], b_hi[members]) for b_lo, b_hi in boxes]
        default_lines = {j: tuple(a[members] for a in r) for j, r in relax.items()}
        per_pass = max(1, WORK_ELEMENTS // (2 * len(members) * widest))  # neurons per backward pass
        for start in range(0, neurons.shape[1], per_pass):
            if tick is not None:
                tick()
            part, ok = neurons[:, start:start + per_pass], valid[:, start:start + per_pass]
            k = part.shape[1]
            unit = UnitRows(np.concatenate([part, part], axis=1),
                            np.broadcast_to(np.repeat([1.0, -1.0], k), (len(members), 2 * k)), n)
            lines_of = dict(default_lines)
            for j, slope in (slopes or {}).items():
                lines_of[j] = lines(chain.steps[j], mine[j][0][:, None, :], mine[j][1][:, None, :],
                                    slope[np.concatenate([part, n + part], axis=1)])
            bound = backward(chain.steps, mine, unit, i, lines_of, {}, chain.runs)
            at = (members[:, None], part)
            lo[at] = np.where(ok, np.maximum(lo[at], bound[:, :k]), lo[at])
            hi[at] = np.where(ok, np.minimum(hi[at], -bound[:, k:]), hi[at])
    return lo, hi


GROUPS = 8  # at most this many groups per batch
CALL_COST = 64  # a backward call's fixed cost, in neurons bounded (measured on acasxu and tllverifybench)


def _groups(open_: np.ndarray):
    """Yield (members [g], neurons [g, k], valid [g, k]) for the domains with open neurons,
    grouped by count (each group padded to its largest; the number of groups the one with
    the least padded work plus `CALL_COST` per group): each domain's open neurons first,
    padded with distinct closed ones (`valid` False), so no neuron appears twice in a row."""
    counts = open_.sum(axis=1)
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]
    if not len(order):
        return

    def cost(parts: list[np.ndarray]) -> int:
        return sum(len(m) * int(counts[m[-1]]) + CALL_COST for m in parts)

    splits = (np.array_split(order, g) for g in range(1, min(GROUPS, len(order)) + 1))
    for members in min(splits, key=cost):
        k = int(counts[members[-1]])
        neurons = np.argsort(~open_[members], axis=1, kind="stable")[:, :k]
        yield members, neurons, np.take_along_axis(open_[members], neurons, axis=1)
