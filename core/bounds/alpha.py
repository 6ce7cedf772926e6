"""α-CROWN: optimise the relaxation parameters of the final backward pass with Adam.

Every iterate is a valid bound (any parameter in [0, 1] gives a sound relaxation), so
the best bound seen per specification and domain is kept, with the parameters that
gave it; those parameters are the warm start a child domain inherits. Intermediate
bounds stay those of CROWN (given as `boxes`).
"""

from __future__ import annotations

from typing import Callable

import torch

from core.bounds.crown import backward_bound
from core.bounds.plan import Plan
from core.model.ir import Interval


def initial_alphas(plan: Plan, boxes: dict[str, Interval], specs: int,
                   warm: dict[str, torch.Tensor] | None = None, target: str | None = None) -> dict[str, torch.Tensor]:
    """Parameters [S, B, *shape] per activation on the backward pass from `target` (default:
    the output): the warm start where given (and of the right shape), else the operator's default."""
    walked = {n.name for n in plan.walk[target or plan.graph.output_name]}
    alphas = {}
    for node in plan.activations:
        if node.name not in walked:
            continue
        default = node.op.alpha_init(boxes[node.inputs[0]])
        if default is None:
            continue
        start = default.unsqueeze(0).expand(specs, *default.shape)
        if warm is not None and node.name in warm and warm[node.name].shape == start.shape:
            start = warm[node.name].to(start)
        alphas[node.name] = start.detach().clone()
    return alphas


def optimise(plan: Plan, boxes: dict[str, Interval], A: torch.Tensor, d: torch.Tensor,
             alphas: dict[str, torch.Tensor], iterations: int, lr: float,
             interrupt: Callable[[], None] | None = None, target: str | None = None
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Best lower bounds [S, B] of sum(A * t) − d over `iterations` Adam steps, and the
    parameters that reached them; t is tensor `target` (default: the output). `d` is [S, B].
    `interrupt` is called before every step and may raise to abandon the optimisation (a
    deadline or a cancellation)."""
    output = target or plan.graph.output_name
    boxes = {k: Interval(v.lower.detach(), v.upper.detach()) for k, v in boxes.items()}
    params = {k: v.clone().requires_grad_(True) for k, v in alphas.items()}
    adam = Adam(list(params.values()), lr)
    best = best_params = None
    for step in range(iterations + 1):
        if interrupt is not None:
            interrupt()
        with torch.enable_grad():
            lower = backward_bound(plan, output, A, boxes, params) - d
        value = lower.detach()
        if best is None:
            best, best_params = value.clone(), {k: v.detach().clone() for k, v in params.items()}
        else:
            improved = value > best
            best = torch.where(improved, value, best)
            for k, v in params.items():
                mask = improved.reshape(*improved.shape, *([1] * (v.dim() - 2)))
                best_params[k] = torch.where(mask, v.detach(), best_params[k])
        if step == iterations or not params:
            break
        grads = torch.autograd.grad(-lower[torch.isfinite(value)].sum(), list(params.values()), allow_unused=True)
        with torch.no_grad():
            adam.step(grads)
            for node_name, v in params.items():
                low, high = plan.graph.node(node_name).op.alpha_range
                v.clamp_(low, high)
                if v.dtype == torch.float64:  # float32-representable: a certificate stores them in half the bytes
                    v.copy_(v.to(torch.float32))
    return best, best_params


class Adam:
    """Adam (Kingma & Ba, 2015) minimising over a list of tensors, updated in place.

    Written out because constructing torch.optim.Adam the first time in a process imports
    torch._dynamo, which takes seconds: too much for a command-line call or a fresh worker.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: tuple[torch.Tensor | None, ...], scales: list | None = None) -> None:
        """One step; `scales[i]` (a number or a tensor broadcasting to param i) multiplies its step size."""
        self.t += 1
        b1, b2 = self.betas
        for i, (p, g, m, v) in enumerate(zip(self.params, grads, self.m, self.v)):
            if g is None:
                continue
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            step = self.lr * m_hat / (v_hat.sqrt() + self.eps)
            p.sub_(step if scales is None else step * scales[i])
