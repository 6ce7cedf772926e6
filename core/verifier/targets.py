"""A property as the verifier works on it: one target per (region, disjunct).

A target is one input box and one conjunction `C y <= d`. The property is `unsat` when
every target is refuted (no x in its box has all rows of C y <= d hold), `sat` as soon
as any target has a point that onnxruntime confirms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.spec.property import Property


@dataclass
class Target:
    """Region `region`, disjunct `disjunct`: box lower/upper [n], C [r, m], d [r] (torch)."""

    region: int
    disjunct: int
    lower: torch.Tensor
    upper: torch.Tensor
    C: torch.Tensor
    d: torch.Tensor

    @property
    def label(self) -> str:
        return f"region {self.region} disjunct {self.disjunct}"


def targets_of(prop: Property, device: torch.device, dtype: torch.dtype) -> list[Target]:
    """Every (region, disjunct) of `prop`, as tensors on `device`."""
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)  # noqa: E731
    out = []
    for i, region in enumerate(prop.regions):
        for j, conj in enumerate(region.unsafe):
            out.append(Target(i, j, as_tensor(region.box.lower), as_tensor(region.box.upper),
                              as_tensor(conj.C).reshape(-1, prop.n_outputs), as_tensor(conj.d).reshape(-1)))
    return out


def stack_padded(targets: list[Target]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes [K, n] and disjuncts padded to the same row count, C [K, r, m], d [K, r].

    Padding repeats a disjunct's first row, which leaves its margin (max over rows) unchanged.
    """
    rows = max(int(t.C.shape[0]) for t in targets)
    pad = lambda a: torch.cat([a, a[:1].expand(rows - a.shape[0], *a.shape[1:])])  # noqa: E731
    C = torch.stack([pad(t.C) for t in targets])
    d = torch.stack([pad(t.d) for t in targets])
    return torch.stack([t.lower for t in targets]), torch.stack([t.upper for t in targets]), C, d
