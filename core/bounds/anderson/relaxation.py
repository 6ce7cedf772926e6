"""The per-domain constants of the relaxation: boxes, phases and the Anderson constraints' ends.

Everything here depends on the domains' bounds only (not on the multipliers), so it is
computed once per bounding call and shared by every iteration of every solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bounds.anderson.layers import AndersonNet, Layer
from core.model.ir import Interval


@dataclass(frozen=True)
class LayerBounds:
    """One layer for B domains: pre-activation bounds `pre_l`/`pre_u` [B, m] (after splits),
    the box `lo`/`hi` of x_k [B, m], of z `zl`/`zu` [B, m], `unstable` [B, m]; for the
    Anderson family `wL` = w·Ľ and `wD` = w·(Ľ − Û) [B, m, K] and `top` = Σ w·Û + b [B, m]
    (the interval upper bound of x̂)."""

    pre_l: torch.Tensor
    pre_u: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor
    zl: torch.Tensor
    zu: torch.Tensor
    unstable: torch.Tensor
    wL: torch.Tensor
    wD: torch.Tensor
    top: torch.Tensor


@dataclass(frozen=True)
class Relaxation:
    """The chain's bounds for B domains: the box of x_0 `lo0`/`hi0` [B, n0], `layers`, and
    `empty` [B]: domains whose bounds cross (their splits contradict)."""

    net: AndersonNet
    lo0: torch.Tensor
    hi0: torch.Tensor
    layers: tuple[LayerBounds, ...]
    empty: torch.Tensor

    @property
    def batch(self) -> int:
        return self.lo0.shape[0]


def _layer_bounds(layer: Layer, pre: Interval, lo_in: torch.Tensor, hi_in: torch.Tensor) -> LayerBounds:
    B = lo_in.shape[0]
    pre_l, pre_u = pre.lower.reshape(B, -1), pre.upper.reshape(B, -1)
    lo, hi = pre_l.clamp(min=0), pre_u.clamp(min=0)
    active, inactive = pre_l >= 0, pre_u <= 0
    zl = active.to(lo.dtype)
    zu = (~inactive).to(lo.dtype)
    positive = layer.w >= 0
    gl, gh = layer.gather(lo_in), layer.gather(hi_in)  # [B, m, K]
    low_end = torch.where(positive, gl, gh)   # Ľ
    high_end = torch.where(positive, gh, gl)  # Û
    wL = layer.w * low_end
    wD = layer.w * (low_end - high_end)
    top = (layer.w * high_end).sum(-1) + layer.b
    return LayerBounds(pre_l, pre_u, lo, hi, zl, zu, ~(active | inactive), wL, wD, top)


def relaxation(net: AndersonNet, input_box: Interval, pre: dict[str, Interval]) -> Relaxation:
    """Bounds of B domains: `input_box` [B, *input shape] and `pre[relu name]`, each ReLU's
    input bounds [B, *shape] after the split constraints."""
    x0 = net.input_box(input_box)
    lo_in, hi_in = x0.lower, x0.upper
    layers = []
    empty = torch.zeros(lo_in.shape[0], dtype=torch.bool, device=lo_in.device)
    for layer in net.layers:
        bounds = _layer_bounds(layer, pre[layer.relu], lo_in, hi_in)
        empty |= (bounds.pre_l > bounds.pre_u).any(1)
        layers.append(bounds)
        lo_in, hi_in = bounds.lo, bounds.hi
    return Relaxation(net, x0.lower, x0.upper, tuple(layers), empty)
