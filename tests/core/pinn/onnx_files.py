"""Small ONNX files for the PINN job and command tests."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from core.pinn.pde import get_pde
from core.pinn.train import build_net, export


def tiny_pinn(path: Path, pde: str = "burgers", seed: int = 0) -> Path:
    """A 2 x 8 tanh MLP for `pde`, exported as the trainer exports."""
    torch.manual_seed(seed)
    domain = get_pde(pde).domain
    path.write_bytes(export(build_net(get_pde(pde).n_outputs, 2, 8, domain), domain))
    return path


def relu_net(path: Path) -> Path:
    buffer = io.BytesIO()
    torch.onnx.export(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).eval(), torch.zeros(1, 2), buffer,
                      dynamo=False, input_names=["input"], output_names=["output"], opset_version=17)
    path.write_bytes(buffer.getvalue())
    return path
