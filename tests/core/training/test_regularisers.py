"""The warm-up and IBP-R regularisers: zero exactly where they should be, positive elsewhere."""

from __future__ import annotations

import pytest
import torch

from core.model.ir import Interval
from core.training.regularisers import balance, ibp_r_regulariser, relu_looseness, tightness


def test_looseness_counts_only_unstable_neurons():
    stable = {"a": Interval(torch.tensor([[0.5, -2.0]]), torch.tensor([[1.0, -1.0]]))}
    assert float(relu_looseness(stable)) == 0
    unstable = {"a": Interval(torch.tensor([[-1.0, -0.2]]), torch.tensor([[3.0, 2.0]]))}
    assert float(relu_looseness(unstable)) == pytest.approx((1.0 + 0.2) / 2)


def test_ibp_r_gap_vanishes_when_the_bound_meets_the_attack():
    adversarial = torch.tensor([[0.0, 1.0, 2.0]])
    stable = {"a": Interval(torch.ones(1, 2), 2 * torch.ones(1, 2))}
    assert float(ibp_r_regulariser(adversarial, adversarial, stable)) == 0
    assert float(ibp_r_regulariser(adversarial, adversarial - 1, stable)) > 0


def test_balance_is_zero_for_symmetric_boxes_and_positive_when_all_dead():
    symmetric = {"a": Interval(torch.tensor([[1.0, -3.0]]), torch.tensor([[3.0, -1.0]]))}
    assert float(balance(symmetric)) < 1e-12
    dead = {"a": Interval(-3 * torch.ones(1, 4), -torch.ones(1, 4))}
    assert float(balance(dead)) > 0.1


def test_tightness_penalises_boxes_much_wider_than_the_input():
    box = Interval(torch.zeros(1, 4), 0.1 * torch.ones(1, 4))
    tight = {"a": Interval(torch.zeros(1, 3), 0.1 * torch.ones(1, 3))}
    wide = {"a": Interval(torch.zeros(1, 3), 10 * torch.ones(1, 3))}
    assert float(tightness(box, tight, 0.5)) == 0
    assert float(tightness(box, wide, 0.5)) > 0.4
