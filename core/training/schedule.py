"""Schedules of a run, as functions of the step: ε, κ, β, α, the warm-up weight, the learning rate.

ε stays 0 for the warm-up epochs, then ramps to its final value along a smoothed curve
(polynomial start, linear end, with matching slope where they meet, as in Shi et al.),
and stays there. κ (IBP's clean-loss weight) falls 1 → κ_end and CROWN-IBP's β 1 → 0
linearly over the same ramp; the warm-up regulariser fades out as ε grows.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.training.config import TrainConfig

_BEND, _POWER = 0.25, 4.0


def smoothed_ramp(p: float) -> float:
    """0 → 1 for p in [0, 1]: a·p^4 up to p = 0.25, then linear; value and slope continuous."""
    p = min(max(p, 0.0), 1.0)
    slope = 1.0 / (1 - _BEND + _BEND / _POWER)
    if p <= _BEND:
        return slope / (_POWER * _BEND ** (_POWER - 1)) * p ** _POWER
    return 1 - slope * (1 - p)


@dataclass(frozen=True)
class Coefficients:
    eps: float
    kappa: float
    beta: float
    alpha: float
    warmup_weight: float


def coefficients(config: TrainConfig, epoch: float) -> Coefficients:
    """The schedule at `epoch` (fractional: 2.5 is half-way through the third epoch).
    `config` must be resolved (`TrainConfig.resolved`)."""
    start, length = config.warmup_epochs, config.ramp_epochs
    progress = 1.0 if length == 0 else min(max((epoch - start) / length, 0.0), 1.0)
    if epoch < start:
        progress = 0.0
    ramp = smoothed_ramp(progress)
    eps = config.eps * config.train_eps_factor * ramp if epoch >= start else 0.0
    return Coefficients(eps=eps, kappa=1 - (1 - config.kappa_end) * progress, beta=1 - progress,
                        alpha=config.alpha, warmup_weight=config.warmup_reg * (1 - ramp) if eps > 0 else 0.0)


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """Adam's rate in (whole) `epoch`: `lr`, times `lr_decay` after each decay epoch passed."""
    passed = sum(1 for e in config.lr_decay_epochs or () if epoch >= e)
    return config.lr * config.lr_decay ** passed
