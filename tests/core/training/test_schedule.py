"""Schedules: the smoothed ε ramp, κ / β / warm-up weight, the learning-rate steps."""

from __future__ import annotations

import pytest

from core.training.config import TrainConfig
from core.training.schedule import coefficients, learning_rate, smoothed_ramp


def test_smoothed_ramp_runs_from_zero_to_one_monotonically_and_continuously():
    ps = [k / 1000 for k in range(1001)]
    values = [smoothed_ramp(p) for p in ps]
    assert values[0] == 0 and values[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert max(b - a for a, b in zip(values, values[1:])) < 0.002
    assert smoothed_ramp(0.1) < 0.1 / 2  # starts slowly


def test_coefficients_follow_warmup_ramp_and_plateau():
    config = TrainConfig(eps=0.2, epochs=10, warmup_epochs=2, ramp_epochs=4, kappa_end=0.5).resolved()
    warm = coefficients(config, 1.5)
    assert warm.eps == 0 and warm.kappa == 1 and warm.warmup_weight == 0
    mid = coefficients(config, 4.0)
    assert 0 < mid.eps < 0.2 and mid.kappa == pytest.approx(0.75) and mid.beta == pytest.approx(0.5)
    assert mid.warmup_weight > 0
    end = coefficients(config, 8.0)
    assert end.eps == pytest.approx(0.2) and end.kappa == pytest.approx(0.5) and end.beta == 0
    assert end.warmup_weight == 0


def test_learning_rate_steps_down_after_each_decay_epoch():
    config = TrainConfig(lr=1e-3, lr_decay=0.1, epochs=10, lr_decay_epochs=(5, 8)).resolved()
    assert [learning_rate(config, e) for e in (0, 4, 5, 7, 8, 9)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


def test_defaults_are_derived_from_the_number_of_epochs():
    config = TrainConfig(epochs=20).resolved()
    assert (config.warmup_epochs, config.ramp_epochs, config.lr_decay_epochs) == (2, 10, (15, 18))
