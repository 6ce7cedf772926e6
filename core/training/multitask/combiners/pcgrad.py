"""PCGrad (Yu et al., 2020): project away the part of each task's gradient that conflicts with another's."""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import GradientCombiner


class PCGrad(GradientCombiner):
    """For each task i, against the other tasks j in a random order: where g_i·g_j < 0,
    g_i ← g_i − (g_i·g_j / ||g_j||²) g_j (the projection onto g_j's normal plane); the update
    is the sum of the projected gradients."""

    name = "pcgrad"

    def combine(self, grads: torch.Tensor) -> torch.Tensor:
        projected = grads.clone()
        T = len(grads)
        for i in range(T):
            for j in torch.randperm(T, generator=self.generator).tolist():
                if j == i:
                    continue
                dot = projected[i] @ grads[j]
                if dot < 0:
                    projected[i] -= dot / (grads[j] @ grads[j]) * grads[j]
        return projected.sum(0)
