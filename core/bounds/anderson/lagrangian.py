"""The Lagrangian of the Anderson relaxation, minimised in closed form over the boxes.

For any nonnegative multipliers the value is a lower bound on the objective over the
relaxation, hence over the network (weak duality): every iterate of every solver is a
sound bound. docs/bounds.md ("Anderson relaxation duals") writes out each term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bounds.anderson.layers import Layer
from core.bounds.anderson.relaxation import LayerBounds, Relaxation


@dataclass
class Multipliers:
    """Per layer, [S, B, m] each: `alpha` (x̂ ≤ x), `beta0` (x ≤ û z), `beta1` (x ≤ x̂ − l̂(1 − z)),
    `cut` the total weight B of the Anderson constraints and `mask` [S, B, m, K] their
    per-entry weight P (0 ≤ P ≤ B)."""

    alpha: list[torch.Tensor]
    beta0: list[torch.Tensor]
    beta1: list[torch.Tensor]
    cut: list[torch.Tensor]
    mask: list[torch.Tensor]

    def parts(self) -> tuple[list[torch.Tensor], ...]:
        return self.alpha, self.beta0, self.beta1, self.cut, self.mask

    @staticmethod
    def zeros(relax: Relaxation, specs: int) -> "Multipliers":
        like = relax.lo0
        flat = lambda: [like.new_zeros(specs, *layer.lo.shape) for layer in relax.layers]  # noqa: E731
        return Multipliers(flat(), flat(), flat(), flat(), [like.new_zeros(specs, *layer.wL.shape) for layer in relax.layers])


@dataclass
class AndersonTerms:
    """One layer's Anderson constraints, combined: `total` B [S, B, m]; `z_sum` = Σ_K wD·P and
    `const_sum` = Σ_K wL·P [S, B, m]; `to_inputs` the coefficient −Σ_j w_j·P_j moves onto x_{k−1}
    (returned positive here: Σ_j w_j·P_j scattered, [S, B, n])."""

    total: torch.Tensor
    z_sum: torch.Tensor
    const_sum: torch.Tensor
    to_inputs: torch.Tensor

    @staticmethod
    def of_mask(layer: Layer, bounds: LayerBounds, cut: torch.Tensor, mask: torch.Tensor) -> "AndersonTerms":
        """From the aggregated form, clamped: B ≥ 0 on unstable neurons only, 0 ≤ P ≤ B."""
        total = cut.clamp(min=0) * bounds.unstable
        P = torch.minimum(mask.clamp(min=0), total.unsqueeze(-1))
        return AndersonTerms(total, (bounds.wD * P).sum(-1), (bounds.wL * P).sum(-1), layer.scatter(layer.w * P))

    @staticmethod
    def of_cuts(layer: Layer, bounds: LayerBounds, weights: torch.Tensor, cuts: "CutSet") -> "AndersonTerms":
        """From weights [S, B, c, m] of the cut set's 0/1 masks (clamped ≥ 0; only cuts in use,
        on unstable neurons, count)."""
        weights = weights.clamp(min=0) * cuts.used.reshape(-1, 1) * bounds.unstable.unsqueeze(-2)
        S, B, c, m = weights.shape
        if layer.full_rows:  # one batched product: [S, B, 1, c·m] @ [S, B, c·m, K]
            to_inputs = (weights.reshape(S, B, 1, c * m) @ cuts.wm.reshape(S, B, c * m, -1)).squeeze(-2)
        else:
            to_inputs = layer.scatter((weights.unsqueeze(-1) * cuts.wm).sum(2))
        return AndersonTerms(weights.sum(2), (weights * cuts.zd).sum(2), (weights * cuts.cl).sum(2), to_inputs)


class CutSet:
    """Up to `capacity` fixed 0/1 masks of one layer, stored for the products they enter:
    `wm` = w·M_c [S, B, c, m, K], `zd` = Σ_K wD·M_c and `cl` = Σ_K wL·M_c [S, B, c, m];
    `used` [c] marks the slots filled so far; `stored` [S, B, m, c, K] the masks themselves."""

    def __init__(self, layer: Layer, bounds: LayerBounds, specs: int, capacity: int) -> None:
        self.layer, self.bounds = layer, bounds
        B, m, K = bounds.wL.shape
        like = bounds.wL
        self.wm = like.new_zeros(specs, B, capacity, m, K)
        self.zd = like.new_zeros(specs, B, capacity, m)
        self.cl = like.new_zeros(specs, B, capacity, m)
        self.used = like.new_zeros(capacity)
        self.stored = torch.zeros(specs, B, m, capacity, K, dtype=torch.bool, device=like.device)
        self.fractional: torch.Tensor | None = None  # a slot-0 mask that is not 0/1 (a parent's, inherited)
        self.count = 0

    def add(self, mask: torch.Tensor) -> None:
        """Fill the next slot with `mask` [S, B, m, K] (0/1, or fractional: a convex combination)."""
        c = self.count
        self.wm[:, :, c] = self.layer.w * mask
        self.zd[:, :, c] = (self.bounds.wD * mask).sum(-1)
        self.cl[:, :, c] = (self.bounds.wL * mask).sum(-1)
        self.used[c] = 1.0
        if bool(((mask > 0) & (mask < 1)).any()):
            self.fractional = mask
        else:
            self.stored[:, :, :, c] = mask > 0
        self.count += 1

    def combine(self, weights: torch.Tensor) -> torch.Tensor:
        """P = Σ_c weights_c · M_c [S, B, m, K] for weights [S, B, c, m]."""
        P = (weights.permute(0, 1, 3, 2).unsqueeze(-2) @ self.stored.to(weights.dtype)).squeeze(-2)
        if self.fractional is not None:  # only slot 0 can hold one
            P = P + weights[:, :, 0].unsqueeze(-1) * self.fractional
        return P


@dataclass
class Primal:
    """The Lagrangian's minimiser over the boxes: x_0 [S, B, n0], x_k and z_k [S, B, m] per layer."""

    x0: torch.Tensor
    x: list[torch.Tensor]
    z: list[torch.Tensor]


def _box_min(coefficient: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """min over [lo, hi] of coefficient·v, summed over the last axis, and the minimiser."""
    point = torch.where(coefficient >= 0, lo, hi)
    return (coefficient * point).sum(-1), point


def lagrangian(relax: Relaxation, objective: tuple[torch.Tensor, torch.Tensor], alpha: list[torch.Tensor],
               beta0: list[torch.Tensor], beta1: list[torch.Tensor], anderson: list[AndersonTerms | None],
               want_primal: bool = False) -> tuple[torch.Tensor, Primal | None]:
    """The dual bound [S, B] for the planet multipliers (clamped ≥ 0) and each layer's
    Anderson terms (None: none), and optionally the minimiser. `objective` = (coefficients
    [S, B|1, m_R] on x_R, constants [S, B|1]) from `AndersonNet.objective`."""
    coefficient, value = objective
    value = value.expand(coefficient.shape[0], relax.batch)
    xs: list[torch.Tensor] = []
    zs: list[torch.Tensor] = []
    for k in range(len(relax.layers) - 1, -1, -1):
        layer, bounds, terms = relax.net.layers[k], relax.layers[k], anderson[k]
        a, b0, b1 = alpha[k].clamp(min=0), beta0[k].clamp(min=0), beta1[k].clamp(min=0)
        f = -a + b0 + b1 + coefficient
        gz = -b0 * bounds.pre_u - b1 * bounds.pre_l
        flow = a - b1
        value = value + (flow * layer.b).sum(-1) + (b1 * bounds.pre_l).sum(-1)
        coefficient = layer.transpose_times(flow)
        if terms is not None:
            f = f + terms.total
            gz = gz - terms.z_sum - terms.total * bounds.top
            value = value + terms.const_sum.sum(-1)
            coefficient = coefficient - terms.to_inputs
        term_x, x = _box_min(f, bounds.lo, bounds.hi)
        term_z, z = _box_min(gz, bounds.zl, bounds.zu)
        value = value + term_x + term_z
        if want_primal:
            xs.insert(0, x)
            zs.insert(0, z)
    term, x0 = _box_min(coefficient, relax.lo0, relax.hi0)
    value = (value + term).masked_fill(relax.empty, float("inf"))
    return value, (Primal(x0, xs, zs) if want_primal else None)


def evaluate(relax: Relaxation, objective, duals: Multipliers, want_primal: bool = False):
    """`lagrangian` of multipliers in the aggregated form."""
    terms = [AndersonTerms.of_mask(layer, bounds, c, m) if bool((c > 0).any()) else None
             for layer, bounds, c, m in zip(relax.net.layers, relax.layers, duals.cut, duals.mask)]
    return lagrangian(relax, objective, duals.alpha, duals.beta0, duals.beta1, terms, want_primal)
