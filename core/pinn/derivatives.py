"""Sound bounds on a tanh MLP's outputs and their first and second input derivatives over boxes.

Forward-mode differentiation, carried through enclosures (`core.pinn.enclosure`): with
z = W a + b and a = tanh(z) at every hidden layer,

    ∂z/∂x_i = W ∂a/∂x_i,            ∂a/∂x_i = tanh'(z) ∂z/∂x_i,
    ∂²z/∂x_i∂x_j = W ∂²a/∂x_i∂x_j,  ∂²a/∂x_i∂x_j = tanh''(z) ∂z/∂x_i ∂z/∂x_j + tanh'(z) ∂²z/∂x_i∂x_j,

tanh, tanh' and tanh'' bounded by lines over z's interval (`core.pinn.tanh_series`), the
products and squares by Taylor models (`enclosure.product`). Everything stays linear in
the piece's coordinates, so the PDE residual built from these keeps their correlations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.pinn import tanh_series
from core.pinn.enclosure import Enclosure, product, square
from core.pinn.network import TanhMLP

Pair = tuple[int, int]


@dataclass(frozen=True)
class DerivativeBounds:
    """Over B boxes: `u` the outputs [B, n_out]; `grad[i]` ∂u/∂x_i; `hess[(i, j)]` ∂²u/∂x_i∂x_j
    for the pairs asked for (i <= j). `center` and `radius` [B, d] give the boxes."""

    u: Enclosure
    grad: tuple[Enclosure, ...]
    hess: dict[Pair, Enclosure]
    center: np.ndarray
    radius: np.ndarray


def derivative_bounds(mlp: TanhMLP, lower: np.ndarray, upper: np.ndarray, pairs: tuple[Pair, ...] = (),
                      linear: bool = True) -> DerivativeBounds:
    """Bounds over the boxes [lower, upper] ([B, d] each, float64); `linear=False` is plain
    interval arithmetic (looser, for comparison)."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    center, radius = (lower + upper) / 2, (upper - lower) / 2
    pairs = tuple(sorted({(min(i, j), max(i, j)) for i, j in pairs}))
    batch, d = center.shape
    w, b = mlp.layers[0]
    z = Enclosure.exact(w[None] * radius[:, None, :], center @ w.T + b, linear)
    dz = [_constant(np.broadcast_to(w[:, i], (batch, w.shape[0])), d, linear) for i in range(d)]
    ddz = {p: _constant(np.zeros((batch, w.shape[0])), d, linear) for p in pairs}
    for w, b in mlp.layers[1:]:
        s1 = z.relaxed(tanh_series.linear_bounds(1, z.lo, z.hi), *tanh_series.value_range(1, z.lo, z.hi))
        s2 = (z.relaxed(tanh_series.linear_bounds(2, z.lo, z.hi), *tanh_series.value_range(2, z.lo, z.hi))
              if pairs else None)
        a = z.relaxed(tanh_series.linear_bounds(0, z.lo, z.hi), *tanh_series.value_range(0, z.lo, z.hi))
        da = [product(s1, g) for g in dz]
        dda = {(i, j): product(s2, square(dz[i]) if i == j else product(dz[i], dz[j])) + product(s1, ddz[(i, j)])
               for i, j in pairs}
        z = a.affine(w, b)
        dz = [g.affine(w) for g in da]
        ddz = {p: h.affine(w) for p, h in dda.items()}
    return DerivativeBounds(z, tuple(dz), ddz, center, radius)


def _constant(values: np.ndarray, d: int, linear: bool) -> Enclosure:
    return Enclosure.exact(np.zeros(values.shape + (d,)), np.array(values, dtype=np.float64), linear)


def torch_derivatives(net, xs, pairs: tuple[Pair, ...] = (), create_graph: bool = False):
    """(u [N, n_out], grad [d] of [N, n_out], hess {pair: [N, n_out]}) of torch module `net`
    at xs [N, d] (requires_grad), as torch tensors; `create_graph` keeps them differentiable
    (training)."""
    import torch

    u = net(xs)
    first = [torch.autograd.grad(u[:, k].sum(), xs, create_graph=True)[0] for k in range(u.shape[1])]
    grads = [torch.stack([g[:, i] for g in first], 1) for i in range(xs.shape[1])]
    hess = {}
    for i, j in pairs:
        cols = [torch.autograd.grad(g[:, i].sum(), xs, create_graph=create_graph, retain_graph=True)[0][:, j]
                for g in first]
        hess[(min(i, j), max(i, j))] = torch.stack(cols, 1)
    return u, grads, hess


def autograd_derivatives(mlp: TanhMLP, x: np.ndarray, pairs: tuple[Pair, ...] = ()):
    """`torch_derivatives` of the MLP at points x [N, d] in float64, as NumPy arrays: the
    reference the bounds are tested and measured against."""
    import torch

    xs = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    u, grads, hess = torch_derivatives(mlp.torch_module(), xs, pairs)
    return (u.detach().numpy(), [g.detach().numpy() for g in grads],
            {p: h.detach().numpy() for p, h in hess.items()})
