"""MGDA-UB (Sener & Koltun, 2018): the task weights of the min-norm point of the gradients' hull.

The upper-bound variant takes the gradients with respect to the shared trunk's output
(`features`, [B, ...]) instead of the shared parameters: T cheap backward passes through
the heads only, then one backward of Σ w_t L_t. That is exact only when every loss reaches
the trunk through those features; a certified loss also reaches it through the bounds and
the attack point, so with such tasks (no `features` given) the weights come from the
gradients of the shared parameters themselves (plain MGDA).
"""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import WeightingCombiner, task_gradients
from core.training.multitask.combiners.min_norm import min_norm_weights


class MGDAUB(WeightingCombiner):
    name = "mgda-ub"

    def weights(self, losses, shared, features) -> torch.Tensor:
        grads = task_gradients(losses, [features] if features is not None else shared)
        self.extra_bytes = max(self.extra_bytes, grads.numel() * grads.element_size())
        gram = (grads.double() @ grads.double().T).cpu().numpy()
        return torch.as_tensor(min_norm_weights(gram), device=losses.device)
