"""CAGrad (Liu et al., 2021): the update, within a ball around the mean gradient, that most
improves the worst task.

Primal: maximise min_t g_t·d subject to ||d − g_0|| ≤ c ||g_0||, g_0 the mean gradient.
Its dual is a problem over the simplex, min_w g_wᵀ g_0 + √φ ||g_w|| with g_w = Σ_t w_t g_t
and φ = c² ||g_0||², solved here on the Gram matrix (T small, SLSQP); the update is
d = g_0 + (√φ / ||g_w||) g_w. With c = 0 it is plain gradient descent on the mean loss.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize

from core.training.multitask.combiners.base import GradientCombiner


class CAGrad(GradientCombiner):
    name = "cagrad"

    def __init__(self, generator: torch.Generator | None = None, c: float = 0.5) -> None:
        super().__init__(generator)
        self.c = c

    def combine(self, grads: torch.Tensor) -> torch.Tensor:
        g = grads.double()
        T = len(g)
        mean = g.mean(0)
        gram = (g @ g.T).cpu().numpy()
        # g_w·g_0 = wᵀ gram 1 / T and ||g_w||² = wᵀ gram w: the dual needs nothing larger than T × T
        b = gram.mean(1)
        root_phi = self.c * float(np.sqrt(max(b.mean(), 0.0)))
        if root_phi == 0.0:
            return mean.to(grads.dtype)

        def dual(w: np.ndarray) -> float:
            return float(w @ b + root_phi * np.sqrt(max(w @ gram @ w, 1e-30)))

        start = np.full(T, 1.0 / T)
        found = minimize(dual, start, method="SLSQP", bounds=[(0.0, 1.0)] * T,
                         constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},), options={"ftol": 1e-12})
        w = torch.as_tensor(found.x if found.success else start, dtype=torch.float64, device=g.device)
        g_w = w @ g
        norm = g_w.norm()
        if norm == 0:
            return mean.to(grads.dtype)
        return (mean + root_phi / norm * g_w).to(grads.dtype)
