"""GradDrop (Chen et al., 2020): keep, coordinate by coordinate, only the gradients of one sign.

The sign purity P = ½(1 + Σ_t g_t / Σ_t |g_t|) is 1 where every task pushes the same way
up and 0 where every task pushes down. With U ~ Uniform(0, 1) per coordinate, task t's
component is kept when P > U and g_t > 0, or P < U and g_t < 0; the update is the sum of
what is kept. The paper applies it to the gradients at a shared activation layer; here it
acts on the shared parameters' gradients, as every combiner of this package does.
"""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import GradientCombiner


class GradDrop(GradientCombiner):
    name = "graddrop"

    def combine(self, grads: torch.Tensor) -> torch.Tensor:
        return grads.mul(self.mask(grads)).sum(0)

    def mask(self, grads: torch.Tensor) -> torch.Tensor:
        """[T, P] bool: which task components each coordinate keeps."""
        purity = 0.5 * (1 + grads.sum(0) / grads.abs().sum(0).clamp(min=torch.finfo(grads.dtype).tiny))
        u = torch.rand(grads.shape[1], generator=self.generator, dtype=grads.dtype, device="cpu").to(grads.device)
        return ((purity > u) & (grads > 0)) | ((purity < u) & (grads < 0))
