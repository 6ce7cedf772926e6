"""Do teacher and student agree on every input of an ε-box? Proved by the verifier on the
joint network, or refuted by a disagreement that onnxruntime replays.

The unsafe set is exact: a disjunct per ordered pair of classes i ≠ j, "the teacher's
top logit is i and the student's is j" (ties count as tops, so `unsat` proves strict
agreement). An `unsat` comes with the verifier's checked certificate; a `sat` with a
point at which the two networks, run in onnxruntime, disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.spec.property import Box, Conjunction, Property, Region

Status = Literal["agree", "disagree", "unknown"]


def epsilon_box(point: np.ndarray, eps: float, valid_range: tuple[float, float] | None = (0.0, 1.0)) -> Box:
    """The L∞ ball around `point` (flattened), rounded outward by one float so it holds the
    whole real ball, then clipped to `valid_range` (None: unclipped)."""
    x = np.asarray(point, dtype=np.float64).reshape(-1)
    lower, upper = np.nextafter(x - eps, -np.inf), np.nextafter(x + eps, np.inf)
    if valid_range is not None:
        lower, upper = np.maximum(lower, valid_range[0]), np.minimum(upper, valid_range[1])
    return Box(lower, upper)


def disagreement_sets(classes: int) -> tuple[Conjunction, ...]:
    """One conjunction per ordered pair i ≠ j on the joint outputs [teacher K, student K]:
    T_k <= T_i for every k and S_k <= S_j for every k."""
    eye = np.eye(2 * classes)
    sets = []
    for i in range(classes):
        for j in range(classes):
            if i == j:
                continue
            rows = [eye[k] - eye[i] for k in range(classes) if k != i]
            rows += [eye[classes + k] - eye[classes + j] for k in range(classes) if k != j]
            sets.append(Conjunction(np.array(rows), np.zeros(len(rows))))
    return tuple(sets)


def agreement_property(point: np.ndarray, eps: float, classes: int,
                       valid_range: tuple[float, float] | None = (0.0, 1.0)) -> Property:
    """Unsafe: some input of the ε-box where the teacher's and the student's top classes differ."""
    box = epsilon_box(point, eps, valid_range)
    return Property(box.lower.size, 2 * classes, (Region(box, disagreement_sets(classes)),))


@dataclass
class Agreement:
    """What was decided about one box: `status`, the verifier's verdict and message, the
    certificate's zip bytes (agree), the disagreeing point and both top classes there
    (disagree, as onnxruntime computes them)."""

    status: Status
    verdict: str
    message: str
    certificate: bytes | None = None
    point: np.ndarray | None = None
    classes_there: tuple[int, int] | None = None


def certify_agreement(joint, point: np.ndarray, eps: float, config=None,
                      valid_range: tuple[float, float] | None = (0.0, 1.0),
                      check_time_limit_s: float | None = None) -> Agreement:
    """Decide agreement on the ε-box around `point` with `core.verifier.verify` on the joint
    network `joint` (a `core.model.Network`); `config` is a `VerifyConfig`."""
    from core.result import Verdict
    from core.verifier import verify
    from core.verifier.certify import certified_result

    classes = joint.output_shape[0] // 2
    prop = agreement_property(point, eps, classes, valid_range)
    result, certified = certified_result(joint, prop, verify(joint, prop, config), check_time_limit_s)
    if result.verdict is Verdict.UNSAT:
        return Agreement("agree", result.verdict.value, result.message, certified.data)
    if result.verdict is Verdict.SAT and result.counterexample is not None:
        y = result.counterexample.y
        return Agreement("disagree", result.verdict.value, result.message, None, result.counterexample.x,
                         (int(np.argmax(y[:classes])), int(np.argmax(y[classes:]))))
    return Agreement("unknown", result.verdict.value, result.message)


def find_disagreement(joint, point: np.ndarray, eps: float, restarts: int = 5, steps: int = 50, seed: int = 0,
                      valid_range: tuple[float, float] | None = (0.0, 1.0)) -> np.ndarray | None:
    """A point of the ε-box where teacher and student disagree, found by PGD (`core.attack`)
    towards every pair's set and confirmed by onnxruntime on the joint network; None if none."""
    from core.attack.pgd import pgd
    from core.counterexample import confirm
    from core.distillation.gap import constants_like

    prop = agreement_property(point, eps, joint.output_shape[0] // 2, valid_range)
    region = prop.regions[0]
    graph = joint.graph
    like = constants_like(graph)
    K = len(region.unsafe)
    lower = torch.as_tensor(region.box.lower, dtype=like.dtype).expand(K, -1)
    upper = torch.as_tensor(region.box.upper, dtype=like.dtype).expand(K, -1)
    C = torch.as_tensor(np.stack([c.C for c in region.unsafe]), dtype=like.dtype)
    d = torch.as_tensor(np.stack([c.d for c in region.unsafe]), dtype=like.dtype)
    found = pgd(graph, lower, upper, C, d, restarts, steps, torch.Generator().manual_seed(seed))
    for k in torch.argsort(found.margin)[:8].tolist():
        if found.margin[k] > 1e-6:
            break
        x = np.clip(found.x[k].detach().cpu().numpy().astype(np.float64), region.box.lower, region.box.upper)
        if confirm(joint.onnx_bytes, prop, x).ok:
            return x
    return None
