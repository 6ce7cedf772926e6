"""Regularisers computed from the IBP boxes of a training step.

- The warm-up regulariser (after Shi et al., 2021) while ε ramps: *tightness* keeps the
  pre-activation boxes from growing much wider than the input box, *balance* keeps the
  ReLUs from being mostly inactive (dead) or mostly active (linear) over the boxes.
- The IBP-R regulariser (after De Palma et al., 2022): the gap between the adversarial
  margins and their IBP lower bounds, plus the looseness of the ReLU triangle relaxation
  over unstable neurons; both vanish exactly when IBP is as tight as the attack.
"""

from __future__ import annotations

import torch

from core.model.ir import Interval


def tightness(box: Interval, pre_activation: dict[str, Interval], target: float) -> torch.Tensor:
    """relu(τ − mean over layers of (mean input width / mean pre-activation width))."""
    if not pre_activation:
        return box.lower.new_zeros(())
    width_in = (box.upper - box.lower).mean()
    ratios = torch.stack([width_in / ((b.upper - b.lower).mean() + 1e-12) for b in pre_activation.values()])
    return torch.relu(target - ratios.mean())


def balance(pre_activation: dict[str, Interval]) -> torch.Tensor:
    """Mean over layers of (soft fraction active − soft fraction inactive)²; 0 when balanced."""
    terms = []
    for b in pre_activation.values():
        scale = (b.upper - b.lower).mean().detach() + 1e-6
        active = torch.sigmoid(b.lower / scale).mean()
        inactive = torch.sigmoid(-b.upper / scale).mean()
        terms.append((active - inactive) ** 2)
    return torch.stack(terms).mean() if terms else torch.zeros(())


def warmup_regulariser(box: Interval, pre_activation: dict[str, Interval], target: float) -> torch.Tensor:
    return tightness(box, pre_activation, target) + balance(pre_activation)


def relu_looseness(pre_activation: dict[str, Interval]) -> torch.Tensor:
    """Mean over ReLU inputs of min(−l, u) on unstable neurons (0 on stable ones): the
    height of the triangle relaxation's worst gap, up to a factor."""
    terms = [torch.minimum(-b.lower, b.upper).clamp(min=0).flatten(1).mean(1) for b in pre_activation.values()]
    return torch.stack(terms, 1).sum(1).mean() if terms else torch.zeros(())


def ibp_r_regulariser(adversarial: torch.Tensor, bound: torch.Tensor,
                      pre_activation: dict[str, Interval]) -> torch.Tensor:
    """log(1 + Σ_j max(adversarial_j − bound_j, 0)) averaged over the batch, plus `relu_looseness`."""
    gap = torch.log1p((adversarial - bound).clamp(min=0).sum(1)).mean()
    return gap + relu_looseness(pre_activation)
