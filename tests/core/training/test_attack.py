"""Training-time PGD stays in its box and finds worse points than the box centre."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.training.attack import pgd_attack
from core.training.bounds import input_box
from core.training.convert import to_graph
from tests.core.training.conftest import small_cnn


def test_pgd_stays_in_the_clipped_box_and_raises_the_loss():
    model = small_cnn(0).eval()
    graph = to_graph(model, (1, 8, 8)).graph
    x = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(32) % 10
    box = input_box(x, 0.2)
    point = pgd_attack(graph, box, labels, 10, torch.Generator().manual_seed(2))
    assert (point >= box.lower).all() and (point <= box.upper).all()
    assert (box.lower >= 0).all() and (box.upper <= 1).all()
    with torch.no_grad():
        assert F.cross_entropy(graph.forward(point), labels) > F.cross_entropy(graph.forward(x), labels)
    assert not point.requires_grad
