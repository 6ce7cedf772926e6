"""The separation oracle of the Anderson family: per neuron, the most violated constraint.

For a point (x_{k−1}, x_k, z_k), the constraint of subset I has right side
Σ_{i∈I} w_i (x_i − Ľ_i (1 − z)) + Σ_{i∉I} w_i Û_i z + b z, so the smallest right side
takes each entry i into I exactly when its first form is the smaller: linear time.
"""

from __future__ import annotations

import torch

from core.bounds.anderson.layers import Layer
from core.bounds.anderson.relaxation import LayerBounds


def most_violated(layer: Layer, bounds: LayerBounds, source: torch.Tensor, x: torch.Tensor, z: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The mask I* [S, B, m, K] (bool) of each neuron's most violated Anderson constraint at
    x_{k−1} = `source` [S, B, n], x_k = `x`, z_k = `z` [S, B, m], and its violation
    x − right side [S, B, m] (> 0 where the point is cut off; 0 on stable neurons)."""
    z4 = z.unsqueeze(-1)
    w = layer.w
    # w·(x_i − Ľ(1 − z)) = w·x_i − wL·(1 − z);  w·Û·z = (wL − wD)·z
    inside = w * layer.gather(source) - bounds.wL * (1 - z4)
    outside = (bounds.wL - bounds.wD) * z4
    mask = inside < outside
    right = torch.minimum(inside, outside).sum(-1) + layer.b * z
    violation = (x - right) * bounds.unstable
    return mask & bounds.unstable.unsqueeze(-1), violation
