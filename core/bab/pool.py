"""The open domains of a branch-and-bound run, stored as tensors rather than objects.

A domain is one row across a set of named tensors (input box, split constraints, its
lower bound, its node id in the proof tree, warm-start state...). Pushing concatenates
rows; popping takes the rows with the smallest lower bound, so each step works on the
domains that are furthest from being proven.
"""

from __future__ import annotations

import torch

Batch = dict[str, torch.Tensor]


def select(batch: Batch, index: torch.Tensor) -> Batch:
    """Rows `index` (indices or a boolean mask) of every tensor in `batch`."""
    return {k: v[index] for k, v in batch.items()}


def concat(a: Batch, b: Batch) -> Batch:
    return {k: torch.cat([a[k], b[k]]) for k in a}


class DomainPool:
    """Rows keyed by name; the tensor named "lb" [N] orders them (smallest popped first)."""

    def __init__(self) -> None:
        self._rows: Batch | None = None

    def __len__(self) -> int:
        return 0 if self._rows is None else int(self._rows["lb"].shape[0])

    def push(self, batch: Batch) -> None:
        if int(batch["lb"].shape[0]) == 0:
            return
        self._rows = dict(batch) if self._rows is None else concat(self._rows, batch)

    def pop(self, count: int) -> Batch:
        """Remove and return the `count` rows with the smallest "lb" (fewer when fewer are left)."""
        assert self._rows is not None and len(self) > 0, "pop from an empty domain pool"
        count = min(count, len(self))
        order = torch.argsort(self._rows["lb"])
        taken, kept = order[:count], order[count:]
        out = select(self._rows, taken)
        self._rows = select(self._rows, kept) if kept.numel() else None
        return out

    def rows(self) -> Batch:
        """Every row, without removing them (a snapshot of the frontier)."""
        assert self._rows is not None, "rows of an empty domain pool"
        return self._rows

    def min_lb(self) -> float | None:
        return None if self._rows is None else float(self._rows["lb"].min())

    def nbytes(self) -> int:
        if self._rows is None:
            return 0
        return sum(v.element_size() * v.numel() for v in self._rows.values())

    def bytes_per_row(self) -> int:
        return self.nbytes() // max(len(self), 1)
