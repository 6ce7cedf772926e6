"""PINN training: the losses fall, the export reads back as the same tanh MLP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.pinn.network import load_mlp
from core.pinn.pde import get_pde
from core.pinn.residual import residual_values
from core.pinn.train import PinnTrainConfig, build_net, condition_losses, train_pinn


def test_training_lowers_the_loss_and_exports_a_tanh_mlp():
    torch.set_num_threads(1)
    config = PinnTrainConfig(pde="burgers", hidden_layers=2, width=8, collocation=100, condition_points=20,
                             adam_steps=40, lr=1e-2, lbfgs_steps=20)
    events = []
    result = train_pinn(config, progress=lambda e: events.append(e) and False)
    assert events[0]["phase"] == "adam" and events[-1]["phase"] == "done"
    assert events[-1]["loss"] < 0.5 * events[0]["loss"]
    mlp = load_mlp(result.onnx)
    assert [w.shape for w, _ in mlp.layers] == [(8, 2), (8, 8), (1, 8)]
    # the exported network's initial-condition residual is what training measured, roughly
    x = np.stack([np.zeros(50), np.linspace(-1, 1, 50)], 1)
    initial = residual_values(mlp, get_pde("burgers").condition("initial"), x)
    assert np.mean(initial ** 2) < 2 * result.losses["initial"] + 1e-3


@pytest.mark.parametrize("name", ["allen_cahn", "schrodinger"])
def test_losses_of_other_pdes_are_differentiable(name):
    pde = get_pde(name)
    net = build_net(pde.n_outputs, 1, 4, pde.domain)
    points = {c.name: torch.tensor(np.stack([np.linspace(*c.domain[0], 5), np.linspace(*c.domain[1], 5)], 1),
                                   requires_grad=True) for c in pde.conditions}
    losses = condition_losses(net, pde, points)
    sum(losses.values()).backward()
    assert set(losses) == {"residual", "initial", "boundary"}
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad)


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="epochs"):
        PinnTrainConfig(epochs=3)
