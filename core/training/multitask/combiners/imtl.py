"""IMTL-G (Liu et al., 2021, "Towards impartial multi-task learning"), the gradient half of IMTL.

The update d = Σ_t α_t g_t with Σ α_t = 1 is chosen so that its projection onto every
task's unit gradient u_t = g_t / ||g_t|| is the same: d·(u_1 − u_t) = 0 for t ≥ 2, which
gives α_{2:T} = g_1 Uᵀ (D Uᵀ)⁻¹ with rows D_t = g_1 − g_t, U_t = u_1 − u_t. The loss-scale
half (IMTL-L, learnable e^s scales) is not used: unitary scalarization is compared with the
gradient rule alone. Applied to the shared parameters' gradients (the paper uses the
shared features'), as every gradient combiner of this package.
"""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import GradientCombiner


class IMTLG(GradientCombiner):
    name = "imtl-g"

    def combine(self, grads: torch.Tensor) -> torch.Tensor:
        return self.weights(grads).to(grads.dtype) @ grads

    @staticmethod
    def weights(grads: torch.Tensor) -> torch.Tensor:
        """α [T] (float64), summing to 1."""
        g = grads.double()
        if len(g) == 1:
            return g.new_ones(1)
        u = g / g.norm(dim=1, keepdim=True).clamp(min=1e-30)
        D, U = g[:1] - g[1:], u[:1] - u[1:]
        # least squares: (D Uᵀ) can be singular when two tasks' gradients are parallel
        rest = torch.linalg.lstsq((D @ U.T).T, (g[:1] @ U.T).T).solution.T.reshape(-1)
        return torch.cat([1 - rest.sum(0, keepdim=True), rest])
