"""Small shared problems for the combiner tests: a linear model, two or three quadratic tasks."""

from __future__ import annotations

import torch


def quadratic_tasks(seed: int = 0, tasks: int = 3, dim: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(losses [T], shared parameter [dim], per-task gradients G [T, dim] computed by hand).

    L_t = ½ ||A_t θ − b_t||², so ∇L_t = A_tᵀ (A_t θ − b_t)."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(dim, generator=g, dtype=torch.float64, requires_grad=True)
    A = torch.randn(tasks, dim, dim, generator=g, dtype=torch.float64)
    b = torch.randn(tasks, dim, generator=g, dtype=torch.float64)
    residual = torch.einsum("tij,j->ti", A, theta) - b
    losses = 0.5 * (residual ** 2).sum(1)
    grads = torch.einsum("tij,ti->tj", A, residual).detach()
    return losses, theta, grads


def conflicting(dim: int = 4, seed: int = 1) -> torch.Tensor:
    """G [3, dim] with every pair of rows at a negative inner product: three directions 120° apart
    in a plane, scaled differently, plus a little noise out of it."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.zeros(3, dim, dtype=torch.float64)
    for t, angle in enumerate((0.0, 2.1, 4.2)):
        rows[t, 0], rows[t, 1] = torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))
    rows = rows * torch.tensor([[1.0], [2.0], [0.5]], dtype=torch.float64)
    rows[:, 2:] = 0.05 * torch.randn(3, dim - 2, generator=g, dtype=torch.float64)
    assert all(rows[i] @ rows[j] < 0 for i in range(3) for j in range(i + 1, 3))
    return rows
