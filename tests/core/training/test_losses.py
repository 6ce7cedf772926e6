"""The robust-loss module: its two combinations, their limits in α, and every method's gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.training.bounds import input_box, margin_bounds
from core.training.config import TrainConfig
from core.training.convert import to_graph
from core.training.losses import margin_ce, margins_at, method_loss, robust_loss
from core.training.schedule import Coefficients
from tests.core.training.conftest import small_cnn


def _margins(seed: int):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (6,), generator=g)
    logits = torch.randn(6, 10, generator=g, dtype=torch.float64)
    adversarial = margins_at(logits, labels)
    bound = adversarial - torch.rand(6, 10, generator=g, dtype=torch.float64) * 3
    bound[torch.arange(6), labels] = 0
    return adversarial, bound, labels, logits


@pytest.mark.parametrize("combine", ["losses", "logits"])
def test_alpha_one_is_exactly_the_ibp_loss_and_zero_the_adversarial_loss(combine):
    adversarial, bound, labels, _ = _margins(0)
    assert torch.equal(robust_loss(adversarial, bound, 1.0, labels, combine), margin_ce(bound, labels))
    assert torch.equal(robust_loss(adversarial, bound, 0.0, labels, combine), margin_ce(adversarial, labels))


def test_margin_cross_entropy_equals_the_cross_entropy_of_the_logits():
    adversarial, _, labels, logits = _margins(1)
    assert torch.allclose(margin_ce(adversarial, labels), F.cross_entropy(logits, labels), atol=1e-12)


def test_the_two_combinations_differ_in_between_and_convexity_orders_them():
    adversarial, bound, labels, _ = _margins(2)
    cc = robust_loss(adversarial, bound, 0.5, labels, "logits")
    mtl = robust_loss(adversarial, bound, 0.5, labels, "losses")
    # CE of the margins is convex in them, so the convex combination inside is at most the weighted sum
    assert cc < mtl
    assert margin_ce(adversarial, labels) < cc


def test_alpha_outside_the_unit_interval_is_refused():
    adversarial, bound, labels, _ = _margins(3)
    with pytest.raises(ValueError, match="alpha must lie in"):
        robust_loss(adversarial, bound, 1.5, labels, "losses")


@pytest.mark.parametrize("method", ["ibp", "crown-ibp", "ibp-r", "cc-ibp", "mtl-ibp"])
def test_every_method_gives_a_finite_loss_with_gradients_in_every_parameter(method):
    model = small_cnn()
    model.train()
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    labels = torch.arange(16) % 10
    folded = to_graph(model, (1, 8, 8), x)
    c = Coefficients(eps=0.05, kappa=0.7, beta=0.5, alpha=0.5, warmup_weight=0.3)
    step = method_loss(TrainConfig(method=method), folded.graph, folded.logits, x, labels, c)
    assert torch.isfinite(step.loss)
    step.loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_ibp_method_is_kappa_weighted_clean_and_bound_cross_entropy():
    model = small_cnn(5)
    model.train()
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(5))
    labels = torch.arange(8)
    folded = to_graph(model, (1, 8, 8), x)
    c = Coefficients(eps=0.03, kappa=0.75, beta=0.0, alpha=0.5, warmup_weight=0.0)
    step = method_loss(TrainConfig(method="ibp"), folded.graph, folded.logits, x, labels, c)
    bound = margin_bounds(folded.graph, input_box(x, 0.03), labels).lower
    expected = 0.75 * F.cross_entropy(folded.logits, labels) + 0.25 * margin_ce(bound, labels)
    assert torch.allclose(step.loss, expected, atol=1e-6)


def test_zero_epsilon_is_plain_cross_entropy():
    model = small_cnn(6)
    model.train()
    x = torch.rand(8, 1, 8, 8)
    labels = torch.arange(8)
    folded = to_graph(model, (1, 8, 8), x)
    c = Coefficients(eps=0.0, kappa=1.0, beta=1.0, alpha=0.5, warmup_weight=0.0)
    step = method_loss(TrainConfig(method="cc-ibp"), folded.graph, folded.logits, x, labels, c)
    assert torch.allclose(step.loss, F.cross_entropy(folded.logits, labels)) and step.bounds is None
