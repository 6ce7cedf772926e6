"""The three dual solvers: Big-M, Active Set, Saddle Point.

- Big-M: Adam ascent on the planet multipliers (α, β0, β1) only.
- Active Set: Adam ascent on the planet multipliers and on one weight per constraint of a
  small active set of Anderson constraints, grown every `cut_every` steps by the oracle
  at a primal estimate (a running average of the Lagrangian's minimisers).
- Saddle Point: the Anderson family by Frank-Wolfe, the planet multipliers by Adam: each
  step moves the Anderson multipliers, held in the aggregated (B, P) form, toward each
  neuron's most violated constraint at the running primal average (mass `cap` × the
  neuron's planet multipliers, step 1/(`step_offset` + t)), so memory stays linear in
  the network whatever the number of constraints touched, while Adam ascends α, β0, β1.

Each iterate is a sound bound; the best per specification and domain is kept with its
multipliers (a certificate's evidence), returned in the aggregated form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal

import torch

from core.bounds.alpha import Adam
from core.bounds.anderson.lagrangian import AndersonTerms, CutSet, Multipliers, Primal, evaluate, lagrangian
from core.bounds.anderson.oracle import most_violated
from core.bounds.anderson.relaxation import Relaxation

Solver = Literal["big-m", "active-set", "saddle-point"]
Trace = Callable[[int, float, torch.Tensor], None]  # (iteration, seconds, best bound [S, B])


@dataclass(frozen=True)
class SolverOptions:
    """Iterations and step sizes. Defaults: docs/bounds.md, measured in docs/results/anderson.md."""

    iterations: int = 50
    lr: float = 1.0           # Adam's first step (Big-M, Active Set), decayed geometrically to lr_end, both
    lr_end: float = 0.03      # relative to the layer's mean start multiplier (per spec and domain)
    cut_every: int = 10       # Active Set: steps between oracle calls
    max_cuts: int = 4         # Active Set: constraints per neuron at most
    primal_memory: float = 0.9  # weight of the past in the running primal average the oracle reads
    step_offset: float = 10.0   # Saddle Point: step 1 / (step_offset + t)
    cap: float = 2.0            # Saddle Point: dual mass per neuron at most cap × the start's (+ 1e-3)


def solve(method: Solver, relax: Relaxation, objective: tuple[torch.Tensor, torch.Tensor], start: Multipliers,
          options: SolverOptions = SolverOptions(), interrupt: Callable[[], None] | None = None,
          trace: Trace | None = None) -> tuple[torch.Tensor, Multipliers]:
    """Best bounds [S, B] over the iterations (never below the start's) and the multipliers
    that gave them, aggregated."""
    run = {"big-m": _big_m, "active-set": _active_set, "saddle-point": _saddle_point}.get(method)
    if run is None:
        raise ValueError(f"unknown Anderson solver {method!r}")
    return run(relax, objective, start, options, interrupt, _Best(trace))


class _Best:
    """Keeps the best bound per (spec, domain) and the state that gave it: named tensors
    whose axes `lead`, `lead + 1` are (spec, domain); a tensor whose first axis grows (more
    cuts) is padded with zeros."""

    def __init__(self, trace: Trace | None) -> None:
        self.trace = trace
        self.best: torch.Tensor | None = None
        self.state: dict[str, tuple[int, torch.Tensor]] = {}
        self.started = time.perf_counter()
        self.steps = 0

    def offer(self, value: torch.Tensor, state: dict[str, tuple[int, torch.Tensor]]) -> None:
        value = value.detach()
        if self.best is None:
            self.best = value.clone()
            self.state = {k: (lead, t.detach().clone()) for k, (lead, t) in state.items()}
        else:
            better = value > self.best
            self.best = torch.where(better, value, self.best)
            for key, (lead, t) in state.items():
                t = t.detach()
                old = self.state[key][1] if key in self.state else torch.zeros_like(t)
                if lead and old.shape[0] < t.shape[0]:
                    old = torch.cat([old, old.new_zeros(t.shape[0] - old.shape[0], *old.shape[1:])])
                pick = better.reshape(*([1] * lead), *better.shape, *([1] * (t.dim() - lead - 2)))
                self.state[key] = (lead, torch.where(pick, t, old))
        if self.trace is not None:
            self.trace(self.steps, time.perf_counter() - self.started, self.best)
        self.steps += 1


def _decay(options: SolverOptions, step: int) -> float:
    if options.iterations <= 1:
        return options.lr
    return options.lr * (options.lr_end / options.lr) ** (step / (options.iterations - 1))


def _planet_state(alpha, beta0, beta1) -> dict[str, tuple[int, torch.Tensor]]:
    state = {}
    for name, tensors in (("alpha", alpha), ("beta0", beta0), ("beta1", beta1)):
        state.update({f"{name}{k}": (0, t) for k, t in enumerate(tensors)})
    return state


def _planet_of(state, layers: int) -> tuple[list[torch.Tensor], ...]:
    return tuple([state[f"{name}{k}"][1].clamp(min=0) for k in range(layers)] for name in ("alpha", "beta0", "beta1"))


def _ascend(relax, objective, variables: list[torch.Tensor], scales: list[torch.Tensor],
            value_of: Callable[[bool], tuple], state_of: Callable[[], dict], options: SolverOptions, interrupt,
            keeper: _Best, grow: Callable[[int, Primal], list[tuple[torch.Tensor, torch.Tensor]]] | None = None) -> None:
    """Projected Adam ascent on `variables` (all kept ≥ 0), each with step sizes times its
    `scales` entry; `value_of(want_primal)` is the Lagrangian at them; `grow(step, minimiser)`
    may return new (variable, scale) pairs to ascend from then on."""
    adam = Adam(list(variables), options.lr)
    scales = list(scales)
    for step in range(options.iterations + 1):
        if interrupt is not None:
            interrupt()
        with torch.enable_grad():
            value, primal = value_of(grow is not None)
        keeper.offer(value, state_of())
        if step == options.iterations:
            break
        grads = torch.autograd.grad(-value[torch.isfinite(value)].sum(), adam.params, allow_unused=True)
        with torch.no_grad():
            adam.lr = _decay(options, step)
            adam.step(grads, scales)
            for v in adam.params:
                v.clamp_(min=0)
        for new, scale in (grow(step, primal) if grow is not None else []):
            scales.append(scale)
            adam.params.append(new)
            adam.m.append(torch.zeros_like(new))
            adam.v.append(torch.zeros_like(new))


def _planet_variables(start: Multipliers) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    grab = lambda ts: [t.detach().clone().clamp(min=0).requires_grad_(True) for t in ts]  # noqa: E731
    return grab(start.alpha), grab(start.beta0), grab(start.beta1)


def _layer_scales(start: Multipliers) -> list[torch.Tensor]:
    """Per layer [S, B, 1]: the mean start multiplier per neuron, the unit of its step sizes
    (multipliers of oval21's convolutional networks are ~0.01, of mnist_fc's ~0.1 and more:
    one absolute step size fits neither)."""
    return [(a + b0 + b1 + c).clamp(min=0).mean(-1, keepdim=True).clamp(min=1e-6)
            for a, b0, b1, c in zip(start.alpha, start.beta0, start.beta1, start.cut)]


def _big_m(relax, objective, start: Multipliers, options, interrupt, keeper) -> tuple[torch.Tensor, Multipliers]:
    alpha, beta0, beta1 = _planet_variables(start)
    layers = len(relax.layers)
    scales = _layer_scales(start)
    _ascend(relax, objective, alpha + beta0 + beta1, scales * 3,
            lambda want: lagrangian(relax, objective, alpha, beta0, beta1, [None] * layers, want),
            lambda: _planet_state(alpha, beta0, beta1), options, interrupt, keeper)
    zeros = Multipliers.zeros(relax, alpha[0].shape[0])
    return keeper.best, Multipliers(*_planet_of(keeper.state, layers), zeros.cut, zeros.mask)


class _PrimalAverage:
    """A running average of the Lagrangian's minimisers: a primal estimate for the oracle."""

    def __init__(self, memory: float) -> None:
        self.memory, self.point = memory, None

    def add(self, primal: Primal) -> None:
        if self.point is None:
            self.point = Primal(primal.x0.detach(), [x.detach() for x in primal.x], [z.detach() for z in primal.z])
        else:
            self.point = _mix(self.point, primal, 1 - self.memory)


def _mix(a: Primal, b: Primal, step: float) -> Primal:
    """(1 − step)·a + step·b."""
    mix = lambda u, v: (1 - step) * u + step * v.detach()  # noqa: E731
    return Primal(mix(a.x0, b.x0), [mix(u, v) for u, v in zip(a.x, b.x)], [mix(u, v) for u, v in zip(a.z, b.z)])


def _cuts_at(relax: Relaxation, point: Primal) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer, the oracle's masks [S, B, m, K] (bool) and violations [S, B, m] at `point`."""
    masks, violations = [], []
    source = point.x0
    for k, (layer, bounds) in enumerate(zip(relax.net.layers, relax.layers)):
        mask, violation = most_violated(layer, bounds, source, point.x[k], point.z[k])
        masks.append(mask)
        violations.append(violation)
        source = point.x[k]
    return masks, violations


def _active_set(relax, objective, start: Multipliers, options, interrupt, keeper) -> tuple[torch.Tensor, Multipliers]:
    alpha, beta0, beta1 = _planet_variables(start)
    layers = len(relax.layers)
    net = relax.net
    specs = alpha[0].shape[0]
    scales = _layer_scales(start)
    # a start with Anderson multipliers (a parent's) keeps them as one cut of fractional mask
    inherited = any(bool((c > 0).any()) for c in start.cut)
    capacity = options.max_cuts + int(inherited)
    cuts = [CutSet(net.layers[k], relax.layers[k], specs, capacity) for k in range(layers)]
    weights = [alpha[k].new_zeros(specs, alpha[k].shape[1], capacity, alpha[k].shape[2]) for k in range(layers)]
    if inherited:
        for k in range(layers):
            total = start.cut[k].detach().clamp(min=0)
            ratio = (start.mask[k].detach().clamp(min=0) / total.clamp(min=1e-30).unsqueeze(-1)).clamp(0, 1)
            cuts[k].add(ratio * (total > 0).unsqueeze(-1))
            weights[k][:, :, 0] = total
    weights = [w.requires_grad_(True) for w in weights]
    average = _PrimalAverage(options.primal_memory)

    def value_of(want: bool):
        terms = [AndersonTerms.of_cuts(net.layers[k], relax.layers[k], weights[k], cuts[k]) if cuts[k].count else None
                 for k in range(layers)]
        return lagrangian(relax, objective, alpha, beta0, beta1, terms, want)

    def state_of() -> dict:
        state = _planet_state(alpha, beta0, beta1)
        state.update({f"cuts{k}": (0, weights[k] * cuts[k].used.reshape(-1, 1)) for k in range(layers)})
        return state

    def grow(step: int, primal: Primal) -> list:
        average.add(primal)
        if step % options.cut_every or cuts[0].count >= capacity:
            return []
        masks, _ = _cuts_at(relax, average.point)
        for k in range(layers):
            cuts[k].add(masks[k].to(alpha[k].dtype))
        return []

    _ascend(relax, objective, alpha + beta0 + beta1 + weights, scales * 3 + [s.unsqueeze(-2) for s in scales],
            value_of, state_of, options, interrupt, keeper, grow)
    planet = _planet_of(keeper.state, layers)
    cut, mask = [], []
    for k in range(layers):
        w = keeper.state[f"cuts{k}"][1].clamp(min=0) * relax.layers[k].unstable.unsqueeze(-2)  # [S, B, c, m]
        cut.append(w.sum(2))
        mask.append(cuts[k].combine(w))
    return keeper.best, Multipliers(*planet, cut, mask)


def _saddle_point(relax, objective, start: Multipliers, options, interrupt, keeper) -> tuple[torch.Tensor, Multipliers]:
    alpha, beta0, beta1 = _planet_variables(start)
    layers = len(relax.layers)
    scales = _layer_scales(start)
    cut = [c.detach().clamp(min=0).clone() for c in start.cut]
    mask = [m.detach().clamp(min=0).clone() for m in start.mask]
    average = _PrimalAverage(options.primal_memory)
    step_count = [0]

    def value_of(want: bool):
        duals = Multipliers(alpha, beta0, beta1, cut, mask)
        return evaluate(relax, objective, duals, want)

    def state_of() -> dict:
        state = _planet_state(alpha, beta0, beta1)
        state.update({f"cut{k}": (0, cut[k]) for k in range(layers)})
        state.update({f"mask{k}": (0, mask[k]) for k in range(layers)})
        return state

    def frank_wolfe(step: int, primal: Primal) -> list:
        """The Anderson part: a Frank-Wolfe step toward each neuron's most violated constraint
        at the primal average, with mass `cap` times the neuron's planet multipliers."""
        average.add(primal)
        gamma = 1.0 / (options.step_offset + step_count[0])
        step_count[0] += 1
        masks, violations = _cuts_at(relax, average.point)
        with torch.no_grad():
            for k in range(layers):
                mass = options.cap * (alpha[k] + beta0[k] + beta1[k]).clamp(min=0) * (violations[k] > 0)
                cut[k] = (1 - gamma) * cut[k] + gamma * mass
                mask[k] = (1 - gamma) * mask[k] + gamma * mass.unsqueeze(-1) * masks[k]
        return []

    _ascend(relax, objective, alpha + beta0 + beta1, scales * 3, value_of, state_of, options, interrupt, keeper,
            frank_wolfe)
    best = keeper.state
    return keeper.best, Multipliers(*_planet_of(best, layers), [best[f"cut{k}"][1] for k in range(layers)],
                                    [best[f"mask{k}"][1] for k in range(layers)])
