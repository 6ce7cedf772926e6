"""Training the brancher: imitation of strong branching over each domain's candidates,
with the two lookback terms, and model selection on solving time.

- Imitation: cross-entropy between the GNN's softmax over a domain's candidates and
  the strong-branching target.
- Target smoothing (`smoothing` ε): the target is (1 − ε)·one-hot(best) + ε·softmax of
  the candidates' strong-branching scores, normalised to [0, 1] per domain, at
  temperature `temperature`: candidates nearly as good as the best are not punished as
  hard as poor ones.
- Parent-as-target (`pat` λ): at a child domain, λ·cross-entropy towards its parent's
  second-best candidate when the child still has it: the lookback answer.
- Selection: the model after each epoch is run as the brancher on validation
  properties; the one that solves them in the least total time is kept.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.bab.learned.features import Features
from core.bab.learned.gnn import DIM, ROUNDS, BranchGNN
from core.bab.learned.graph import NetworkGraph
from core.bab.learned.lookback import parents_second


@dataclass
class Loss:
    smoothing: float = 0.0
    pat: float = 0.0
    temperature: float = 0.1


@dataclass
class Group:
    """Records of one search (one network): features, candidates, targets, batched."""

    net: NetworkGraph
    inputs: torch.Tensor
    outputs: torch.Tensor
    hidden: torch.Tensor        # [b, N, F]
    candidates: torch.Tensor    # [b, K] flat (-1: none)
    scores: torch.Tensor        # [b, K] (-inf: none)
    lookback: torch.Tensor      # [b] flat of the parent's second best, -1 when none


def groups_of(shards: list[dict], chunk: int = 64) -> list[Group]:
    """Training groups of `chunk` domains at most from shards; domains with fewer than two
    scored candidates teach nothing and are left out."""
    out = []
    for shard in shards:
        net = NetworkGraph.of_state(shard["graph"])
        for search in shard["searches"]:
            records = search["records"]
            second = parents_second(records)
            keep = [i for i, r in enumerate(records) if int(torch.isfinite(r["scores"]).sum()) >= 2]
            for start in range(0, len(keep), chunk):
                part = keep[start:start + chunk]
                out.append(Group(net, search["inputs"], search["outputs"],
                                 torch.stack([records[i]["hidden"].float() for i in part]),
                                 torch.stack([records[i]["candidates"] for i in part]),
                                 torch.stack([records[i]["scores"] for i in part]),
                                 torch.tensor([-1 if second[i] is None else second[i] for i in part])))
    return out


def group_loss(model: BranchGNN, group: Group, loss: Loss) -> tuple[torch.Tensor, int, int]:
    """(mean loss, domains whose best the GNN ranks first, domains) of one group."""
    scores = model(group.net, Features(group.hidden, group.inputs, group.outputs))
    valid = torch.isfinite(group.scores) & (group.candidates >= 0)
    logits = scores.gather(1, group.candidates.clamp(min=0)).masked_fill(~valid, -1e9)
    log_p = F.log_softmax(logits, dim=1)
    strong = group.scores.masked_fill(~valid, -float("inf"))
    best = strong.argmax(dim=1)
    target = F.one_hot(best, strong.shape[1]).float()
    if loss.smoothing > 0:
        finite = torch.where(valid, strong, strong.new_zeros(()).expand_as(strong))
        low = torch.where(valid, finite, torch.full_like(finite, float("inf"))).amin(dim=1, keepdim=True)
        high = finite.gather(1, best[:, None])
        normal = ((finite - low) / (high - low).clamp(min=1e-12)).masked_fill(~valid, -float("inf"))
        target = (1 - loss.smoothing) * target + loss.smoothing * F.softmax(normal / loss.temperature, dim=1).float()
    value = -(target * log_p.masked_fill(~valid, 0.0)).sum(dim=1)
    if loss.pat > 0:
        match = (group.candidates == group.lookback[:, None]) & valid & (group.lookback[:, None] >= 0)
        has = match.any(dim=1)
        value = value + loss.pat * has.float() * -(log_p.masked_fill(~match, 0.0).sum(dim=1))
    hits = int((logits.argmax(dim=1) == best).sum())
    return value.mean(), hits, int(best.shape[0])


def train_brancher(shards: list[dict], epochs: int = 6, loss: Loss | None = None, lr: float = 1e-3, seed: int = 0,
                   select=None, progress=None, dim: int = DIM, rounds: int = ROUNDS) -> tuple[BranchGNN, list[dict]]:
    """Train on `shards`; after each epoch `select(model)` (seconds on the validation set,
    lower is better; None: the last epoch is kept) picks the model returned. Returns it and
    the per-epoch history (loss, imitation accuracy, validation seconds)."""
    loss = loss or Loss()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = BranchGNN(dim=dim, rounds=rounds)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    groups = groups_of(shards)
    if not groups:
        raise ValueError("the data hold no domain with two or more scored candidates: nothing to imitate")
    history, best_state, best_seconds = [], None, float("inf")
    for epoch in range(1, epochs + 1):
        started = time.monotonic()
        model.train()
        rng.shuffle(groups)
        total, hits, count = 0.0, 0, 0
        for group in groups:
            value, hit, n = group_loss(model, group, loss)
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            total, hits, count = total + float(value.detach()) * n, hits + hit, count + n
        model.eval()
        entry = {"epoch": epoch, "loss": total / count, "accuracy": hits / count, "train_s": time.monotonic() - started}
        if select is not None:
            entry["validation_s"] = float(select(model))
            if entry["validation_s"] < best_seconds:
                best_seconds, best_state = entry["validation_s"], {k: v.clone() for k, v in model.state_dict().items()}
        history.append(entry)
        if progress is not None:
            progress(entry)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history
