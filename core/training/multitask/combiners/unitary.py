"""Unitary scalarization: the plain sum of the task losses (Kurin et al., 2022)."""

from __future__ import annotations

from core.training.multitask.combiners.base import Combiner


class Unitary(Combiner):
    """One backward pass of Σ_t L_t: no per-task gradients, no extra memory."""

    name = "unitary"

    def backward(self, losses, shared, specific=(), features=None) -> None:
        losses.sum().backward(inputs=[*shared, *specific])
