"""α-CROWN on the intermediate bounds: every unstable pre-activation neuron's lower and
upper bound optimised with its own relaxation slopes (Sigmoid / Tanh: tangent points) of
every earlier activation.

CROWN's intermediate bounds use the adaptive slope everywhere, and on deep networks they
loosen layer by layer: on mnist_fc 256x6 prop_3 (eps 0.05) every neuron of the last two
hidden layers is unstable under CROWN and the final α-CROWN bound is about -270; with
these boxes 80 and 256 are, and it is about -15. α-CROWN on the final bound alone
(`core.bounds.alpha`) cannot recover what the boxes lost.

Each activation input's box is CROWN's (`crown_refiner`) over the tightened boxes before
it, then, on the neurons that leaves unstable (Sigmoid / Tanh: all), intersected with the
best of `iterations` Adam steps on the slopes of every activation before it, one set of
slopes per bound (row), from the adaptive ones; finally intersected with plain CROWN's box
(computed first over CROWN's own boxes). On eran's ffnnSIGMOID 6x200 (idx 3334) the boxes of the last five layers
narrow from 3.3–12.1 to 1.8–3.2 on average, and the final α-CROWN bound rises from
-0.14 to 4.98. CROWN is not monotone in its boxes: over tighter earlier boxes an adaptive
slope can flip and loosen a later bound, so without that last step a box could come out
looser than CROWN's (it did on a small random network). Every iterate is a sound bound,
so per row the best is kept with its slopes; `slopes` is what a certificate carries so
that the checker can re-derive the same boxes (docs/certificate.md).
"""

from __future__ import annotations

import time

from dataclasses import dataclass
from typing import Callable

import torch

from core.bounds.alpha import initial_alphas, optimise
from core.bounds.crown import crown_refiner
from core.bounds.domains import Domains
from core.bounds.ibp import interval_pass
from core.bounds.memory import budget_bytes, rows_per_pass
from core.bounds.plan import Plan
from core.model.ir import Interval
from core.model.ops.leaky_relu import clearly_stable

# An α pass keeps its autograd graph and Adam state: about this many times CROWN's memory per row.
_ALPHA_OVER_CROWN = 3


@dataclass
class OptimisedBoxes:
    """`boxes[tensor]` [B, *shape] as `interval_pass` gives them (ReLU inputs tightened),
    `empty` [B] the domains whose splits contradict, `crown` CROWN's boxes (what `boxes` were
    intersected with), and `slopes[relu][earlier]` the lower
    slopes [B, 2 n, m] of activation `earlier` (m neurons) that bound ReLU `relu`'s input
    (n neurons): row j < n the lower bound of neuron j, row n + j its upper bound; NaN
    where the row kept CROWN's bound (the adaptive slopes)."""

    boxes: dict[str, Interval]
    empty: torch.Tensor
    crown: dict[str, Interval]
    slopes: dict[str, dict[str, torch.Tensor]]


def optimised_boxes(plan: Plan, domains: Domains, iterations: int, lr: float = 0.1,
                    memory_bytes: int | None = None, interrupt: Callable[[], None] | None = None,
                    clamp: Callable[[str, dict[str, Interval], Interval], Interval] | None = None,
                    deadline: float | None = None) -> OptimisedBoxes:
    """Boxes of every tensor for `domains`, activation inputs bounded by α-CROWN (see the module).

    Inputs read by activations alone are optimised: of a ReLU / LeakyReLU input the neurons
    CROWN leaves unstable, of a Sigmoid / Tanh input every neuron (no box makes their
    relaxation exact); other inputs keep CROWN's box. `interrupt` is called before every
    Adam step and may raise (a deadline). `clamp(name, boxes so far, box)`, when given,
    narrows each activation input's final box further (`core.verifier.lemmas`), before
    the later boxes are derived from it. Past `deadline` (time.monotonic()) no more neurons
    are optimised: the rest keep CROWN's boxes (their slopes NaN, as where α did not gain)."""
    budget = budget_bytes(domains.lower.device, memory_bytes)
    crown = crown_refiner(plan, budget)
    plain, _ = interval_pass(plan, domains, crown)
    reader = {}
    for node in plan.nonlinear:
        reader.setdefault(node.inputs[0], node.name)
    slopes: dict[str, dict[str, torch.Tensor]] = {}
    activations = {node.name for node in plan.activations}
    optimisable = {n.inputs[0] for n in plan.activations} - {n.inputs[0] for n in plan.nonlinear
                                                             if n.name not in activations}

    def refine(name: str, boxes: dict[str, Interval], box: Interval) -> Interval:
        box = crown(name, boxes, box)
        earlier = [n for n in plan.walk[name] if n.name in activations]
        if name in plan.hinge_inputs:
            unstable = ~clearly_stable(box.lower, box.upper).flatten(1)  # [B, n]
        else:
            unstable = torch.ones(box.lower.shape[0], box.lower[0].numel(), dtype=torch.bool, device=box.lower.device)
        neurons = unstable.any(0).nonzero().squeeze(1)
        if name in optimisable and earlier and iterations > 0 and neurons.numel() and not _past(deadline):
            box, found = _optimise_neurons(plan, name, boxes, box, unstable, neurons, iterations, lr, budget, interrupt,
                                           deadline)
            slopes[reader[name]] = found
        box = Interval(torch.maximum(box.lower, plain[name].lower), torch.minimum(box.upper, plain[name].upper))
        return box if clamp is None else clamp(name, boxes, box)

    boxes, empty = interval_pass(plan, domains, refine)
    return OptimisedBoxes(boxes, empty, plain, slopes)


def _optimise_neurons(plan: Plan, name: str, boxes: dict[str, Interval], box: Interval, unstable: torch.Tensor,
                      neurons: torch.Tensor, iterations: int, lr: float, budget: int,
                      interrupt: Callable[[], None] | None, deadline: float | None = None
                      ) -> tuple[Interval, dict[str, torch.Tensor]]:
    """`box` tightened by α-CROWN on `neurons` (flat indices, the batch's union of the
    `unstable` [B, n] ones; a domain keeps its box where its own neuron is stable), in
    chunks of rows that fit `budget`, and the slopes per earlier activation [B, 2 n, m]."""
    B, shape, n = box.lower.shape[0], box.lower.shape, box.lower[0].numel()
    like = box.lower
    k = neurons.numel()
    lower, upper = box.lower.flatten(1).clone(), box.upper.flatten(1).clone()
    rows = max(2, rows_per_pass(plan, name, B, like.element_size(), budget) // _ALPHA_OVER_CROWN)
    found: dict[str, torch.Tensor] = {}
    steps_interrupt = _with_deadline(interrupt, deadline)
    for start in range(0, k, max(1, rows // 2)):
        if _past(deadline):
            break  # the remaining neurons keep the box they came with
        chunk = neurons[start:start + max(1, rows // 2)]
        c = chunk.numel()
        A = torch.zeros(2 * c, B, n, dtype=like.dtype, device=like.device)
        A[torch.arange(c), :, chunk] = 1.0
        A[c + torch.arange(c), :, chunk] = -1.0
        A = A.reshape(2 * c, B, *shape[1:])
        zero = torch.zeros(2 * c, B, dtype=like.dtype, device=like.device)
        alphas = initial_alphas(plan, boxes, 2 * c, target=name)
        try:
            best, params = optimise(plan, boxes, A, zero, alphas, iterations, lr, steps_interrupt, target=name)
        except _DeadlinePassed:
            break  # a chunk's steps can take tens of seconds on a deep network: this one's neurons keep their box
        lo, hi = best[:c].T, -best[c:].T  # [B, c]
        mine = unstable[:, chunk]
        gain_lo = mine & (lo > lower[:, chunk])
        gain_hi = mine & (hi < upper[:, chunk])
        lower[:, chunk] = torch.where(gain_lo, lo, lower[:, chunk])
        upper[:, chunk] = torch.where(gain_hi, hi, upper[:, chunk])
        # rows that did not beat the box keep NaN (the adaptive slopes, CROWN's bound)
        used = torch.cat([gain_lo, gain_hi], dim=1).T  # [2c, B]
        index = torch.cat([chunk, n + chunk])
        for act, value in params.items():
            flat = value.detach().reshape(2 * c, B, -1)
            store = found.setdefault(act, torch.full((B, 2 * n, flat.shape[2]), float("nan"),
                                                     dtype=like.dtype, device=like.device))
            store[:, index] = torch.where(used[..., None], flat, float("nan")).transpose(0, 1)
    return Interval(lower.reshape(shape), upper.reshape(shape)), found


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


class _DeadlinePassed(Exception):
    """The root's deadline passed between two Adam steps of a chunk."""


def _with_deadline(interrupt: Callable[[], None] | None, deadline: float | None) -> Callable[[], None] | None:
    """`interrupt`, and past `deadline` a `_DeadlinePassed` (the chunk is dropped, not the run)."""
    if deadline is None:
        return interrupt

    def check() -> None:
        if interrupt is not None:
            interrupt()
        if _past(deadline):
            raise _DeadlinePassed

    return check
