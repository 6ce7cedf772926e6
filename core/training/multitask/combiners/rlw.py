"""Random loss weighting (Lin et al., 2021): fresh random weights on the simplex each step."""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import WeightingCombiner


class RandomLossWeighting(WeightingCombiner):
    """w = softmax(z), z ~ N(0, I) drawn every step from the run's generator."""

    name = "rlw"

    def weights(self, losses, shared, features) -> torch.Tensor:
        z = torch.randn(len(losses), generator=self.generator, dtype=torch.float64)
        return torch.softmax(z, 0).to(losses.device)
