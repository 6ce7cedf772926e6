"""What the GNN sees of a batch of domains: per-neuron features of every ReLU layer, of
the input and of the output.

Magnitudes vary by orders between networks and depths, so every unbounded quantity goes
through a signed logarithm. The same function makes the training data and the features
at inference, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bab.bounding import relu_layout
from core.bab.branching import BranchContext, babsr_scores, intercept
from core.bab.learned.graph import NetworkGraph

HIDDEN_FEATURES = 13
INPUT_FEATURES = 3
OUTPUT_FEATURES = 2


def slog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


@dataclass
class Features:
    """hidden [B, N, HIDDEN_FEATURES] (ReLU layers concatenated as in `relu_layout`),
    inputs [n, INPUT_FEATURES] and outputs [m, OUTPUT_FEATURES] (shared by the batch)."""

    hidden: torch.Tensor
    inputs: torch.Tensor
    outputs: torch.Tensor


def input_features(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """The input box [n] as [n, 3]: its bounds and width."""
    return torch.stack([lower, upper, upper - lower], dim=1).float()


def output_features(C: torch.Tensor) -> torch.Tensor:
    """The specification C [r, m] as [m, 2]: mean and largest magnitude of each output's coefficients."""
    return torch.stack([C.mean(dim=0), C.abs().amax(dim=0)], dim=1).float()


def multipliers(warm: dict[str, torch.Tensor] | None, layout: list[tuple[str, int, int]], like: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """α (lower slope) and β of every ReLU, averaged over the specification's rows: [B, N] each
    (zeros where the search keeps none)."""
    if not warm:
        return torch.zeros_like(like), torch.zeros_like(like)
    alpha, beta = [], []
    for name, _, size in layout:
        value = warm[name]
        value = value.reshape(value.shape[0], value.shape[1], -1, size)
        alpha.append(value[:, :, 0].mean(dim=1))
        beta.append(value[:, :, 1].mean(dim=1) if value.shape[2] > 1 else torch.zeros_like(value[:, :, 0].mean(dim=1)))
    return torch.cat(alpha, dim=1).to(like), torch.cat(beta, dim=1).to(like)


def hidden_features(ctx: BranchContext, layout: list[tuple[str, int, int]], bias: torch.Tensor,
                    primal: torch.Tensor) -> torch.Tensor:
    """[B, N, HIDDEN_FEATURES]: bounds, relaxation slope and intercept, the bound's coefficient
    and BaBSR's score, α and β, split state, candidacy, layer position, bias and the primal
    value (the pre-activation at the input box's centre); `bias`, `primal` [N]."""
    l, u = ctx.lower, ctx.upper
    unstable = (l < 0) & (u > 0)
    slope = torch.where(unstable, u / (u - l).clamp(min=1e-12), (l >= 0).to(l.dtype))
    coefficient = ctx.coefficient if ctx.coefficient is not None else torch.zeros_like(l)
    alpha, beta = multipliers(ctx.warm, layout, l)
    position = torch.zeros_like(l[0])
    for k, (_, offset, size) in enumerate(layout):
        position[offset:offset + size] = (k + 1) / len(layout)
    B = l.shape[0]
    columns = [slog(l), slog(u), slope, slog(intercept(ctx)), slog(coefficient), slog(babsr_scores(ctx)),
               alpha, slog(beta), ctx.split.to(l.dtype), ctx.candidates().to(l.dtype), position.expand(B, -1),
               slog(bias.to(l)).expand(B, -1), slog(primal.to(l)).expand(B, -1)]
    return torch.stack(columns, dim=2).float()


class Featurizer:
    """`Features` of batches of domains of one search: the network's graph `net`, the
    graph IR `graph` it was probed from, the specification C [r, m]."""

    def __init__(self, graph, net: NetworkGraph, C: torch.Tensor) -> None:
        self.graph, self.net = graph, net
        self.layout = relu_layout(graph)
        self.bias = torch.cat(net.bias[:-1])
        self.outputs = output_features(C.detach().cpu().double())
        self.primal: torch.Tensor | None = None

    def __call__(self, ctx: BranchContext) -> Features:
        lower, upper = ctx.box if ctx.box is not None else (ctx.lower.new_zeros(1, self.net.sizes[0]),) * 2
        if self.primal is None:
            with torch.no_grad():
                keep = self.graph.forward((lower + upper) / 2, keep=True)
            self.primal = torch.cat([keep[self.graph.node(name).inputs[0]].flatten(1)[0] for name, _, _ in self.layout])
        return Features(hidden_features(ctx, self.layout, self.bias, self.primal).cpu(),
                        input_features(lower[0].cpu(), upper[0].cpu()), self.outputs)
