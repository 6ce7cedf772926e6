"""Reading a PINN from ONNX: affine steps composed, tanh kept, anything else refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from core.pinn.network import PinnNetworkError, load_mlp


def _onnx(model: nn.Module, n_in: int = 2) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(model.eval(), torch.zeros(1, n_in), buffer, dynamo=False, input_names=["input"],
                      output_names=["output"], opset_version=17)
    return buffer.getvalue()


class Normalised(nn.Module):
    """Input scaling inside the network, as PINN codes often do."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 7), nn.Tanh(), nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 2))

    def forward(self, x):
        return self.body(x * torch.tensor([2.0, 0.5]) - 1.0)


def test_reads_a_tanh_mlp_with_input_normalisation():
    torch.manual_seed(0)
    model = Normalised()
    mlp = load_mlp(_onnx(model))
    assert [w.shape for w, _ in mlp.layers] == [(7, 2), (5, 7), (2, 5)]
    x = np.random.default_rng(0).uniform(-1, 1, size=(16, 2))
    with torch.no_grad():
        expected = model(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.allclose(mlp.forward(x), expected, atol=1e-5)
    assert np.allclose(mlp.torch_module()(torch.tensor(x)).numpy(), mlp.forward(x))


def test_refuses_other_activations():
    with pytest.raises(PinnNetworkError, match="Tanh"):
        load_mlp(_onnx(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))))


def test_refuses_a_network_without_tanh():
    with pytest.raises(PinnNetworkError, match="no Tanh"):
        load_mlp(_onnx(nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))))
