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

    `evidence[leaf]` is what a certificate needs to re-derive that leaf's bound, as
    keyword arguments of `core.certificate.TargetBuilder.close` (NumPy arrays: "rows",
    "alpha", "beta"); `intermediate` says how a node's pre-activation bounds came from its
    parent's ("crown": recomputed and intersected with them; "crown-within": the same, but
    CROWN runs only on neurons the interval box intersected with them leaves unstable;
    "inherit": taken over).
    """

    kind: str
    parent: list[int] = field(default_factory=lambda: [-1])
    branch: list[int] = field(default_factory=lambda: [0])
    split: dict[int, tuple] = field(default_factory=dict)
    closed: dict[int, tuple[str, float]] = field(default_factory=dict)
    evidence: dict[int, dict] = field(default_factory=dict)
    intermediate: str = "crown"

    def __len__(self) -> int:
        return len(self.parent)

    def add_root(self) -> int:
        """A new root (parent -1): a forest of frontier domains that a sub-search took over
        (`core.bab.merge` joins such forests to the tree their domains came from)."""
        self.parent.append(-1)
        self.branch.append(0)
        return len(self.parent) - 1

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

    def close(self, ids: torch.Tensor, bounds: torch.Tensor, how: str = "bound",
              evidence: list[dict] | None = None) -> None:
        """Close leaves `ids` with their lower bounds; `evidence[k]`: what re-derives leaf k's."""
        for k, (i, b) in enumerate(zip(ids.tolist(), bounds.tolist())):
            self.closed[i] = (how, float(b))
            if evidence is not None and evidence[k]:
                self.evidence[i] = evidence[k]

    def to_dict(self) -> dict:
        """JSON-able but for the leaves' evidence, which holds NumPy arrays."""
        leaves = [{"node": i, "how": how, "lower_bound": b} for i, (how, b) in sorted(self.closed.items())]
        for leaf in leaves:
            if leaf["node"] in self.evidence:
                leaf["evidence"] = self.evidence[leaf["node"]]
        return {
            "kind": self.kind,
            "intermediate": self.intermediate,
            "nodes": len(self.parent),
            "parent": self.parent,
            "branch": self.branch,
            "splits": {str(k): list(v) for k, v in sorted(self.split.items())},
            "leaves": leaves,
        }
