"""Training-time PGD: the adversarial term of the robust losses.

Cheap by design (one random start, a few signed-gradient steps on the cross-entropy);
the verifier's own attack in `core.attack` serves a different purpose (finding
confirmed counterexamples) and is not used here.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from core.model.ir import Graph, Interval


def pgd_attack(graph: Graph, box: Interval, labels: torch.Tensor, steps: int,
               generator: torch.Generator | None = None,
               objective: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """A point in `box` [B, *input_shape] with high cross-entropy (or high `objective`, a
    scalar function of the logits: distillation ascends the KL to the teacher), detached.

    Starts uniformly at random in the box; the step is 1.25× the box radius for a single
    step (the fast-FGSM choice) and 2.5× the radius / steps otherwise (Madry et al.).
    """
    lower, upper = box.lower.detach(), box.upper.detach()
    noise = torch.rand(lower.shape, generator=generator, dtype=lower.dtype, device="cpu").to(lower.device)
    x = lower + (upper - lower) * noise
    step = (upper - lower) / 2 * (1.25 if steps == 1 else 2.5 / steps)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = graph.forward(x)
            loss = F.cross_entropy(logits, labels) if objective is None else objective(logits)
            (grad,) = torch.autograd.grad(loss, x)
        x = torch.max(torch.min(x.detach() + step * grad.sign(), upper), lower)
    return x.detach()
