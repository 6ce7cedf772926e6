"""The branching GNN: embeddings of every neuron, refined by message passing along the
verified network's weights, forward (input to output) and backward, then one score per
ReLU neuron.

Its parameters are shared across layers, so one model runs on networks of any depth
and width (it never sees a layer count or a width, only weights and features).
"""

from __future__ import annotations

import torch
from torch import nn

from core.bab.learned.features import HIDDEN_FEATURES, INPUT_FEATURES, OUTPUT_FEATURES, Features
from core.bab.learned.graph import NetworkGraph

# 32 wide, 1 round: the imitation accuracy of the seed's 64 and 2 at about a third of the inference time
# (docs/results/branching.md)
DIM, ROUNDS = 32, 1


def mlp(n_in: int, dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU())


def propagate(weight: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """W [t, s] (dense or sparse) applied to embeddings h [B, s, D]: [B, t, D]."""
    B, s, D = h.shape
    flat = h.transpose(0, 1).reshape(s, B * D)
    out = torch.sparse.mm(weight, flat) if weight.is_sparse else weight @ flat
    return out.reshape(-1, B, D).transpose(0, 1)


class BranchGNN(nn.Module):
    """Scores [B, N] of every ReLU neuron of a batch of domains (higher: split it first)."""

    def __init__(self, dim: int = DIM, rounds: int = ROUNDS) -> None:
        super().__init__()
        self.dim, self.rounds = dim, rounds
        self.embed_input = mlp(INPUT_FEATURES, dim)
        self.embed_hidden = mlp(HIDDEN_FEATURES, dim)
        self.embed_output = mlp(OUTPUT_FEATURES, dim)
        self.forward_update = mlp(2 * dim, dim)
        self.backward_update = mlp(2 * dim, dim)
        self.norm_forward, self.norm_backward = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.score = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, net: NetworkGraph, feats: Features) -> torch.Tensor:
        B = feats.hidden.shape[0]
        sizes = net.sizes
        hidden0 = self.embed_hidden(feats.hidden)
        offsets = [0]
        for size in sizes[1:-1]:
            offsets.append(offsets[-1] + size)
        # the input box is the same for every domain of a search: one embedding, never updated
        h = [self.embed_input(feats.inputs)[None]]
        h += [hidden0[:, offsets[k]:offsets[k + 1]] for k in range(len(sizes) - 2)]
        h.append(self.embed_output(feats.outputs).expand(B, -1, -1))
        for _ in range(self.rounds):
            for t in range(1, len(sizes)):
                message = self.norm_forward(sum(propagate(e.weight, h[e.source]) for e in net.into(t)))
                h[t] = self.forward_update(torch.cat([h[t], message.expand_as(h[t])], dim=2))
            for s in range(len(sizes) - 2, 0, -1):
                edges = net.out_of(s)
                if not edges:
                    continue
                message = self.norm_backward(sum(propagate(e.weight.t(), h[e.target]) for e in edges))
                h[s] = self.backward_update(torch.cat([h[s], message.expand_as(h[s])], dim=2))
        hidden = torch.cat(h[1:-1], dim=1)
        return self.score(torch.cat([hidden, hidden0], dim=2)).squeeze(2)
