"""The robust losses, all of the form loss = f(adversarial term, bound term, α).

Both terms are margins y_true − y_j ([B, classes], 0 for the true class): the
adversarial term at a concrete point (the clean input or a PGD point), the bound term a
sound lower bound over the ε-box. Cross-entropy of minus a margin vector equals the
cross-entropy of the logits it came from, so every method is one of two combinations:

- "losses" (MTL-IBP; IBP and CROWN-IBP with the clean point and α = 1 − κ):
  α·CE(bound) + (1 − α)·CE(adversarial), a plain weighted sum of the two objectives;
- "logits" (CC-IBP): CE(α·bound + (1 − α)·adversarial), the convex combination inside.

With α = 1 both are exactly the IBP loss, with α = 0 exactly the adversarial loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from core.model.ir import Graph
from core.training.attack import pgd_attack
from core.training.bounds import MarginBounds, input_box, margin_bounds
from core.training.config import TrainConfig
from core.training.regularisers import ibp_r_regulariser, warmup_regulariser
from core.training.schedule import Coefficients

Combine = Literal["losses", "logits"]


def margins_at(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Margins y_true − y_j [B, classes] of concrete logits [B, classes]."""
    return logits.gather(1, labels[:, None]) - logits


def margin_ce(margins: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the worst-case logits −margins (mean over the batch)."""
    return F.cross_entropy(-margins, labels)


def robust_loss(adversarial: torch.Tensor, bound: torch.Tensor, alpha: float, labels: torch.Tensor,
                combine: Combine) -> torch.Tensor:
    """f(adversarial margins, bound margins, α) as the module docstring defines it."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if combine == "logits":
        return margin_ce(alpha * bound + (1 - alpha) * adversarial, labels)
    if combine == "losses":
        return alpha * margin_ce(bound, labels) + (1 - alpha) * margin_ce(adversarial, labels)
    raise ValueError(f"unknown combination {combine!r}; expected 'losses' or 'logits'")


@dataclass
class StepLoss:
    """The loss to minimise and what the epoch report shows of it."""

    loss: torch.Tensor
    bounds: MarginBounds | None
    robust_error: float | None


def method_loss(config: TrainConfig, graph: Graph, clean_logits: torch.Tensor, x: torch.Tensor,
                labels: torch.Tensor, c: Coefficients, generator: torch.Generator | None = None,
                teacher: Graph | None = None) -> StepLoss:
    """The loss of `config.method` for one batch at this point of the schedule `c` (`teacher`:
    the distillation methods' teacher network)."""
    if teacher is not None:
        from core.training.distill import distillation_loss  # it builds on this module

        return distillation_loss(config, graph, clean_logits, x, labels, c, teacher, generator)
    clean = margins_at(clean_logits, labels)
    if c.eps == 0:
        return StepLoss(margin_ce(clean, labels), None, None)
    box = input_box(x, c.eps)
    method = config.method
    bounds = margin_bounds(graph, box, labels, c.beta if method == "crown-ibp" else 0.0)
    if method in ("ibp", "crown-ibp"):
        loss = robust_loss(clean, bounds.lower, 1 - c.kappa, labels, "losses")
    elif method == "ibp-r":
        adversarial = _adversarial(graph, input_box(x, config.ibp_r_lambda * c.eps), labels, config, generator)
        regulariser = ibp_r_regulariser(adversarial, bounds.lower, bounds.pre_activation)
        loss = margin_ce(adversarial, labels) + config.ibp_r_weight * regulariser
    else:
        adversarial = _adversarial(graph, box, labels, config, generator)
        loss = robust_loss(adversarial, bounds.lower, c.alpha, labels, "logits" if method == "cc-ibp" else "losses")
    if c.warmup_weight > 0:
        loss = loss + c.warmup_weight * warmup_regulariser(box, bounds.pre_activation, config.tightness_target)
    robust_error = float((bounds.lower.detach() < 0).any(dim=1).float().mean())
    return StepLoss(loss, bounds, robust_error)


def _adversarial(graph: Graph, box, labels: torch.Tensor, config: TrainConfig,
                 generator: torch.Generator | None) -> torch.Tensor:
    point = pgd_attack(graph, box, labels, config.attack_steps, generator)
    return margins_at(graph.forward(point), labels)
