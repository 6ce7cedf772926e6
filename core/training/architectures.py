"""Networks to train, by name, with BatchNorm after every hidden linear/conv layer, and
the IBP initialisation.

Each architecture is a plain `nn.Sequential` of Conv2d / Linear / BatchNorm / ReLU /
Flatten, the vocabulary `core.training.convert` turns into the graph IR.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# (out_channels, kernel, stride, padding) per conv layer, then hidden widths of the dense part.
_SPECS: dict[str, tuple[list[tuple[int, int, int, int]], list[int]]] = {
    "mlp": ([], [512, 512]),
    "mlp-medium": ([], [256, 256]),
    "mlp-small": ([], [100]),  # a student for distillation
    "cnn-small": ([(16, 4, 2, 0), (32, 4, 2, 0)], [100]),
    "cnn-medium": ([(32, 3, 1, 0), (32, 4, 2, 0), (64, 3, 1, 0), (64, 4, 2, 0)], [512, 512]),
    "cnn7": ([(64, 3, 1, 1), (64, 3, 1, 1), (128, 3, 2, 1), (128, 3, 1, 1), (128, 3, 1, 1)], [512]),
}


def build(arch: str, input_shape: tuple[int, ...], classes: int = 10) -> nn.Sequential:
    """A fresh, IBP-initialised network `arch` for inputs [C, H, W] and `classes` logits."""
    if arch not in _SPECS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(_SPECS)}")
    convs, widths = _SPECS[arch]
    layers: list[nn.Module] = []
    channels, height, width = input_shape
    for out, kernel, stride, pad in convs:
        layers += [nn.Conv2d(channels, out, kernel, stride, pad), nn.BatchNorm2d(out), nn.ReLU()]
        channels = out
        height, width = ((s + 2 * pad - kernel) // stride + 1 for s in (height, width))
    layers.append(nn.Flatten())
    features = channels * height * width
    for w in widths:
        layers += [nn.Linear(features, w), nn.BatchNorm1d(w), nn.ReLU()]
        features = w
    layers.append(nn.Linear(features, classes))
    model = nn.Sequential(*layers)
    ibp_init(model)
    return model


def ibp_init(model: nn.Module) -> None:
    """Weights ~ N(0, σ²) with σ = √(2π) / fan_in, biases 0 (Shi et al., 2021): keeps the
    width of interval bounds from growing layer by layer at initialisation."""
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            fan_in = layer.weight[0].numel()
            with torch.no_grad():
                layer.weight.normal_(0.0, math.sqrt(2 * math.pi) / fan_in)
                if layer.bias is not None:
                    layer.bias.zero_()
