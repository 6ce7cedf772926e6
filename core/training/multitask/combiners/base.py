"""The one interface every way of combining task losses follows, and its shared plumbing.

A combiner gets the per-task losses [T] and the parameters (the shared ones, and those of
one task only, i.e. the heads) and leaves the update in their `.grad`, ready for the
optimiser step. Two families:

- weighting combiners pick weights w [T] (detached) and back-propagate Σ w_t L_t once;
- gradient combiners take each task's gradient of the shared parameters, a matrix
  G [T, P] (one backward pass per task, T·P floats held at once: the cost the unitary
  scalarization avoids), turn it into one vector [P], and give the task-only parameters
  the gradient of Σ L_t.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Sequence

import torch


class Combiner(ABC):
    """Turns per-task losses into the update of the parameters (their `.grad`)."""

    name: ClassVar[str]

    def __init__(self, generator: torch.Generator | None = None) -> None:
        self.generator = generator
        self.extra_bytes = 0  # the largest extra tensor this combiner held in a step (G, for the gradient ones)

    @abstractmethod
    def backward(self, losses: torch.Tensor, shared: Sequence[torch.Tensor], specific: Sequence[torch.Tensor] = (),
                 features: torch.Tensor | None = None) -> None:
        """Fill `.grad` of `shared` and `specific` from `losses` [T]. `features` is the shared
        trunk's output, when every loss reaches the shared parameters only through it."""


class WeightingCombiner(Combiner):
    """Σ w_t L_t with weights of the subclass's choosing, in one backward pass."""

    @abstractmethod
    def weights(self, losses: torch.Tensor, shared: Sequence[torch.Tensor],
                features: torch.Tensor | None) -> torch.Tensor:
        """Detached weights [T]."""

    def backward(self, losses, shared, specific=(), features=None) -> None:
        w = self.weights(losses, shared, features).to(losses.dtype)
        (w * losses).sum().backward(inputs=[*shared, *specific])


class GradientCombiner(Combiner):
    """Combines the per-task gradients of the shared parameters G [T, P] into one vector."""

    @abstractmethod
    def combine(self, grads: torch.Tensor) -> torch.Tensor:
        """The update [P] from per-task gradients [T, P]."""

    def backward(self, losses, shared, specific=(), features=None) -> None:
        grads = task_gradients(losses, shared)
        self.extra_bytes = max(self.extra_bytes, grads.numel() * grads.element_size())
        write_gradient(shared, self.combine(grads))
        if specific:
            losses.sum().backward(inputs=list(specific))


def task_gradients(losses: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """[T, P]: row t is the gradient of losses[t] with respect to `params`, flattened."""
    rows = []
    for t in range(len(losses)):
        grads = torch.autograd.grad(losses[t], list(params), retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)]))
    return torch.stack(rows)


def write_gradient(params: Sequence[torch.Tensor], vector: torch.Tensor) -> None:
    """Set each parameter's `.grad` to its slice of the flat `vector`."""
    offset = 0
    for p in params:
        p.grad = vector[offset:offset + p.numel()].reshape(p.shape).clone()
        offset += p.numel()
