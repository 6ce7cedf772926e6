"""Distillation losses: a student trained from a fixed teacher network.

- "kd" (Hinton et al.): (1 − w)·CE(student, labels) + w·τ²·KL(teacher_τ ‖ student_τ) at the
  clean point, softmaxes at temperature τ;
- "adv-kd" (the adversarial baseline, as in adversarially robust distillation): the same,
  with the student evaluated at a PGD point of the ε-box that maximises the KL to the
  teacher's clean soft labels;
- "faithful-kd": the KD loss plus λ times a sound upper bound, over the ε-box, on the
  confidence gap |p_T(x)_c − p_S(x)_c| in the teacher's class c at the clean point. The
  bound comes from IBP bounds (last layer elided) on the logit differences z_j − z_c of each
  network pushed through p_c = 1 / (1 + Σ_j e^{z_j − z_c}); minimising it makes the
  student provably as confident as its teacher around each example, which also makes
  their agreement provable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pathlib import Path

from core.model.ir import Graph, Interval
from core.training.attack import pgd_attack
from core.training.bounds import input_box, spec_bounds
from core.training.config import TrainConfig
from core.training.losses import StepLoss
from core.training.schedule import Coefficients


def load_teacher(path: Path, input_shape: tuple[int, ...], classes: int, device: torch.device) -> Graph:
    """The teacher's graph in float32 on `device`; ValueError naming the file when it does not
    take the data's inputs or give one logit per class."""
    from core.model import load_network

    graph = load_network(path).graph
    if graph.input_shape != tuple(input_shape) or graph.output_shape != (classes,):
        raise ValueError(f"teacher {path}: it maps inputs {list(graph.input_shape)} to {list(graph.output_shape)}; "
                         f"the data needs {list(input_shape)} -> [{classes}]")
    return graph.to(device, torch.float32)


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(softmax(teacher/τ) ‖ softmax(student/τ)), batch mean."""
    return F.kl_div(F.log_softmax(student_logits / temperature, 1), F.log_softmax(teacher_logits / temperature, 1),
                    reduction="batchmean", log_target=True)


def kd_loss(clean_logits: torch.Tensor, imitating_logits: torch.Tensor, teacher_logits: torch.Tensor,
            labels: torch.Tensor, temperature: float, weight: float) -> torch.Tensor:
    """(1 − weight)·CE(clean student logits) + weight·τ²·KL(teacher ‖ student at the imitating point)."""
    return (1 - weight) * F.cross_entropy(clean_logits, labels) + \
        weight * temperature ** 2 * soft_kl(imitating_logits, teacher_logits, temperature)


def class_probability_bounds(graph: Graph, box: Interval, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sound lower and upper bounds [B] on softmax(graph(x))[classes] over `box`, from IBP
    bounds on the logit differences z_j − z_c (the last layer elided; differentiable)."""
    K = graph.output_size
    eye = torch.eye(K, dtype=box.lower.dtype, device=box.lower.device)
    to_c = eye.unsqueeze(0) - eye[classes].unsqueeze(1)  # row j: z_j − z_c  [B, K, K]
    low = spec_bounds(graph, box, torch.cat([to_c, -to_c], 1)).lower
    others = eye[classes] == 0  # the row of c itself is identically 0: left out of the sums
    minus_inf = torch.full_like(low[:, :K], float("-inf"))
    upper_diff, lower_diff = torch.where(others, -low[:, K:], minus_inf), torch.where(others, low[:, :K], minus_inf)
    return torch.sigmoid(-torch.logsumexp(upper_diff, 1)), torch.sigmoid(-torch.logsumexp(lower_diff, 1))


def gap_bound(student: Graph, teacher: Graph, box: Interval, classes: torch.Tensor) -> torch.Tensor:
    """A sound upper bound [B] on max over `box` of |p_T(x)_c − p_S(x)_c|, differentiable in the student."""
    with torch.no_grad():
        t_low, t_high = class_probability_bounds(teacher, box, classes)
    s_low, s_high = class_probability_bounds(student, box, classes)
    return torch.maximum(t_high - s_low, s_high - t_low).clamp(min=0)


def distillation_loss(config: TrainConfig, graph: Graph, clean_logits: torch.Tensor, x: torch.Tensor,
                      labels: torch.Tensor, c: Coefficients, teacher: Graph,
                      generator: torch.Generator | None = None) -> StepLoss:
    """The loss of a distillation method (`config.method`) for one batch."""
    with torch.no_grad():
        teacher_logits = teacher.forward(x)
    temperature, weight = config.kd_temperature, config.kd_weight
    if config.method == "kd" or c.eps == 0:
        return StepLoss(kd_loss(clean_logits, clean_logits, teacher_logits, labels, temperature, weight), None, None)
    box = input_box(x, c.eps)
    if config.method == "adv-kd":
        point = pgd_attack(graph, box, labels, config.attack_steps, generator,
                           lambda logits: soft_kl(logits, teacher_logits, temperature))
        return StepLoss(kd_loss(clean_logits, graph.forward(point), teacher_logits, labels, temperature, weight),
                        None, None)
    gap = gap_bound(graph, teacher, box, teacher_logits.argmax(1))
    loss = kd_loss(clean_logits, clean_logits, teacher_logits, labels, temperature, weight)
    return StepLoss(loss + config.faithful_weight * gap.mean(), None, None)
