"""The branch-and-bound proof tree: every split made and how every leaf was closed.

Kept as flat columns (one entry per node) so that a tree of a million domains stays
cheap; `to_dict` turns it into the JSON-able description a certificate is built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ProofTree:
    """Node 0 is the root (the whole box). A split of node p on `what` creates its children.

    `what` is ("input", dim, value) for input splitting (children: x_dim <= value, >=
    value) or ("relu", node_name, flat_index) for ReLU splitting (children: inactive,
    active). A leaf is closed by a bound (its lower bound > 0) or by an exact LP.
    """

    kind: str
    parent: list[int] = field(default_factory=lambda: [-1])
    branch: list[int] = field(default_factory=lambda: [0])
    split: dict[int, tuple] = field(default_factory=dict)
    closed: dict[int, tuple[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.parent)

    def add_children(self, parents: torch.Tensor, splits: list[tuple]) -> tuple[torch.Tensor, torch.Tensor]:
        """Record that each parent was split as `splits[i]`; returns the two children's ids."""
        first = len(self.parent)
        ids = parents.tolist()
        count = len(ids)
        for p, what in zip(ids, splits):
            self.split[p] = what
        self.parent.extend(ids + ids)
        self.branch.extend([0] * count + [1] * count)
        left = torch.arange(first, first + count)
        return left, left + count

    def close(self, ids: torch.Tensor, bounds: torch.Tensor, how: str = "bound") -> None:
        for i, b in zip(ids.tolist(), bounds.tolist()):
            self.closed[i] = (how, float(b))

    def to_dict(self) -> dict:
        leaves = [{"node": i, "how": how, "lower_bound": b} for i, (how, b) in sorted(self.closed.items())]
        return {
            "kind": self.kind,
            "nodes": len(self.parent),
            "parent": self.parent,
            "branch": self.branch,
            "splits": {str(k): list(v) for k, v in sorted(self.split.items())},
            "leaves": leaves,
        }
