"""Where the solvers start: a CROWN / α(β)-CROWN backward pass read as planet multipliers.

A backward pass's coefficient λ on a ReLU's output and μ on its input are multipliers of
the Big-M constraints (docs/bounds.md): unstable neurons α = a·λ⁺ (a the lower slope),
β1 = −λ⁻·û/(û − l̂), β0 = −λ⁻ − β1; active ones α = μ⁺, β1 = −μ⁻ (μ = λ − β with a split
multiplier β); inactive ones α = μ⁺. The Lagrangian at these multipliers equals the
backward pass's bound, so every solver starts where α,β-CROWN stopped.
"""

from __future__ import annotations

import torch

from core.bounds.anderson.lagrangian import Multipliers
from core.bounds.anderson.relaxation import Relaxation
from core.bounds.crown import backward_bound
from core.bounds.plan import Plan
from core.model.ir import Interval


def from_backward_pass(plan: Plan, boxes: dict[str, Interval], A: torch.Tensor, relax: Relaxation,
                       alphas: dict[str, torch.Tensor] | None = None) -> Multipliers:
    """The planet multipliers [S, B, m] of the backward pass from coefficients A [S, B, *out]
    with relaxation parameters `alphas` (α-CROWN's, or β-CROWN's two channels)."""
    record: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        backward_bound(plan, plan.graph.output_name, A, boxes, alphas, record)
    S = A.shape[0]
    duals = Multipliers.zeros(relax, S)
    for k, (layer, bounds) in enumerate(zip(relax.net.layers, relax.layers)):
        B = bounds.lo.shape[0]
        lam = record[layer.relu].reshape(S, B, -1) if layer.relu in record else bounds.lo.new_zeros(S, B, layer.size)
        node = plan.graph.node(layer.relu)
        given = (alphas or {}).get(layer.relu)
        if given is None:
            slope = node.op.alpha_init(boxes[layer.pre])
            slope = slope.select(1, 0) if slope.dim() > len(node.shape) + 1 else slope
            slope, beta = slope.reshape(1, B, -1).expand(S, B, -1), torch.zeros_like(lam)
        elif given.dim() == len(node.shape) + 3:  # β-CROWN: [S, B, 2, *shape], slope and split multiplier
            slope, beta = given.select(2, 0).reshape(S, B, -1), given.select(2, 1).reshape(S, B, -1).clamp(min=0)
        else:
            slope, beta = given.reshape(S, B, -1), torch.zeros_like(lam)
        slope = slope.clamp(0, 1)
        l, u = bounds.pre_l, bounds.pre_u
        active = l >= 0
        pos, neg = lam.clamp(min=0), lam.clamp(max=0)
        width = torch.where(bounds.unstable, u - l, torch.ones_like(u))
        chord = torch.where(bounds.unstable, u / width, torch.zeros_like(u))
        mu_active = lam - beta
        duals.alpha[k] = torch.where(bounds.unstable, slope * pos,
                                     torch.where(active, mu_active.clamp(min=0), beta))
        beta1 = torch.where(bounds.unstable, -neg * chord, torch.where(active, (-mu_active).clamp(min=0), 0.0))
        duals.beta1[k] = beta1
        duals.beta0[k] = torch.where(bounds.unstable, -neg - beta1, torch.zeros_like(beta1))
    return duals
