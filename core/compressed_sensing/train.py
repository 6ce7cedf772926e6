"""Decoders trained for verifiability: the support spec's clean loss plus a certified term.

Every output is a binary decision (score > 0 iff on the support), so the spec's margins
are sigma_i * score_i with sigma = +1 on the support and -1 off it. Both terms go through
core.training's `robust_loss` as two-class margins (cross-entropy of [0, v] is
softplus(-v)). Linear measurements add IBP / CROWN-IBP lower bounds (`spec_bounds`) over a
box of magnitudes around each sample, within its piece, growing to `box_fraction` of the
piece over the ramp; the first layer is bounded exactly over that box (it is linear in the
magnitudes). Binarized measurements have no boxes: the decoder sees finitely many sign
patterns, and the reachable ones (`core.compressed_sensing.arrangement`) join the samples.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.problem import Problem, support_errors
from core.model.ir import Interval
from core.training.architectures import ibp_init
from core.training.bounds import spec_bounds
from core.training.convert import to_graph
from core.training.export import export_onnx
from core.training.losses import robust_loss

BATCH = 128
WARMUP = 0.1      # share of the epochs trained on clean samples only
RAMP = 0.5        # share of the epochs over which the boxes and the bound term's weight grow
BOX_FRACTION = 0.5  # final box width, relative to the piece's magnitude range
CROWN_WEIGHT = 0.5  # CROWN-IBP share of the bound term
IBP_INIT = False
CORNERS = 0.5     # share of training samples with magnitudes at low or high


def default_hidden(problem: Problem) -> tuple[int, ...]:
    """Hidden widths by problem difficulty: wider with more entries and nonzeros per
    measurement, deeper for sign measurements (more cells to tell apart)."""
    width = int(min(512, 8 * math.ceil(problem.n * problem.k * max(1.0, problem.n / problem.m) / 8)))
    return (width, width, width) if problem.binarized else (width, width)


def build_decoder(problem: Problem, hidden: tuple[int, ...]) -> nn.Sequential:
    """An IBP-initialised MLP from m measurements to n scores."""
    layers: list[nn.Module] = []
    width = problem.m
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, problem.n))
    model = nn.Sequential(*layers).double()
    if IBP_INIT:
        ibp_init(model)
    return model


@dataclass
class LabelledPatterns:
    """Sign patterns y [P, m] known to be reachable, with the sigma [P, n] of their piece."""

    y: np.ndarray
    sigma: np.ndarray


def _two_class(v: torch.Tensor) -> torch.Tensor:
    """Margins [B, n] -> [B*n, 2] for `robust_loss` with label 0 (cross-entropy softplus(-v))."""
    flat = v.reshape(-1, 1)
    return torch.cat([torch.zeros_like(flat), flat], dim=1)


def _ramp(epoch: int, epochs: int) -> float:
    start = WARMUP * epochs
    return float(np.clip((epoch - start) / max(1.0, RAMP * epochs), 0.0, 1.0))


def piece_bounds(model: nn.Sequential, problem: Problem, x: torch.Tensor, sigma: torch.Tensor,
                 fraction: float) -> torch.Tensor:
    """Lower bounds [B, n] on sigma * scores over a box of magnitudes of relative width
    `fraction` around each sample's, inside its piece."""
    A = torch.as_tensor(problem.A, dtype=x.dtype)
    width = (problem.high - problem.low) * fraction
    lo_c = problem.low + width / 2
    centre = x.abs().clamp(min=lo_c, max=problem.high - width / 2) if width < problem.high - problem.low \
        else torch.full_like(x, (problem.low + problem.high) / 2)
    on = (x != 0).to(x.dtype)
    signs = torch.sign(x)
    # y = A x is linear in the magnitudes; the first layer's box is exact over the magnitude box
    first = model[0]
    W = first.weight @ A  # [h, n]: coefficient of each entry of x
    centre_x = signs * centre * on
    radius_x = on * width / 2
    c = centre_x @ W.T + first.bias
    r = radius_x @ W.abs().T
    graph = to_graph(model[1:], (first.out_features,)).graph
    C = torch.diag_embed(sigma)
    return spec_bounds(graph, Interval(c - r, c + r), C, CROWN_WEIGHT).lower


def with_corners(x: np.ndarray, problem: Problem, rng: np.random.Generator) -> np.ndarray:
    """`x` with CORNERS of its rows' magnitudes moved to low or high: errors concentrate
    where the magnitudes are extreme (a ratio high/low between two entries), which uniform
    samples rarely reach."""
    rows = rng.random(len(x)) < CORNERS
    ends = np.where(rng.random(x.shape) < 0.5, problem.low, problem.high)
    x[rows] = np.sign(x[rows]) * ends[rows]
    return x


def train_decoder(config: CSConfig, problem: Problem, patterns: LabelledPatterns | None = None,
                  progress: Callable[[dict], bool | None] | None = None, model: nn.Sequential | None = None,
                  extra: np.ndarray | None = None, epochs: int | None = None) -> tuple[nn.Sequential, list[dict]]:
    """Train a decoder for `problem` as `config` says (or go on training `model`, for
    `epochs`, with `extra` admissible x [E, n] in every epoch); returns it (eval mode, float64)
    and the per-epoch history. `progress` gets each epoch's figures; True stops the run."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed + (0 if model is None else len(extra) if extra is not None else 1))
    model = model.train() if model is not None else build_decoder(problem, config.hidden or default_hidden(problem))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    total = epochs or config.epochs
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, total)
    history: list[dict] = []
    for epoch in range(total):
        ramp = _ramp(epoch, total) if extra is None else 1.0
        x = with_corners(problem.sample(config.samples, rng), problem, rng)
        if extra is not None:
            x = np.concatenate([x, extra])
        y = problem.measure(x)
        sigma = np.where(x != 0, 1.0, -1.0)
        if patterns is not None:
            y, sigma = np.concatenate([y, patterns.y]), np.concatenate([sigma, patterns.sigma])
            x = np.concatenate([x, np.zeros((len(patterns.y), problem.n))])
        order = rng.permutation(len(y))
        losses = []
        for start in range(0, len(y), BATCH):
            idx = order[start:start + BATCH]
            xb, yb, sb = (torch.as_tensor(a[idx]) for a in (x, y, sigma))
            clean = sb * model(yb)
            labels = torch.zeros(clean.numel(), dtype=torch.long)
            bound = clean
            boxed = (xb != 0).any(dim=1)  # pattern rows carry no magnitudes, so no box
            if not problem.binarized and ramp > 0 and config.bound_weight > 0 and bool(boxed.all()):
                bound = piece_bounds(model, problem, xb, sb, BOX_FRACTION * ramp)
            weight = config.bound_weight * ramp if bound is not clean else 0.0
            loss = robust_loss(_two_class(clean), _two_class(bound), weight, labels, "losses")
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        schedule.step()
        with torch.no_grad():
            errors = support_errors(model(torch.as_tensor(y)).numpy() * 1.0, np.where(sigma > 0, 1.0, 0.0))
        event = {"phase": "epoch", "epoch": epoch + 1, "epochs": total, "loss": float(np.mean(losses)),
                 "train_error": float(errors.mean()), "box_fraction": BOX_FRACTION * ramp}
        history.append(event)
        if progress is not None and progress(event):
            break
    return model.eval(), history


def export_decoder(model: nn.Sequential, problem: Problem, seed: int = 0) -> bytes:
    """ONNX bytes of the decoder (float32 weights, input [1, m]), checked against onnxruntime
    and the engine's loader on sampled measurements."""
    rng = np.random.default_rng(seed)
    check = torch.as_tensor(problem.measure(problem.sample(64, rng)), dtype=torch.float32)
    return export_onnx(copy.deepcopy(model).float(), (problem.m,), check)
