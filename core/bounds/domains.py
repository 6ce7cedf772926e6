"""What the bounding methods take and give: domains, options, results, warm-start state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from core.model.ir import Interval


@dataclass(frozen=True)
class Domains:
    """A batch of B sub-problems: input boxes `lower`/`upper` [B, *input_shape] and ReLU
    split constraints `splits[activation node name]` [B, *pre-activation shape] (int8:
    +1 enforces pre-activation >= 0, -1 enforces <= 0, 0 leaves it free)."""

    lower: torch.Tensor
    upper: torch.Tensor
    splits: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lower.shape != self.upper.shape:
            raise ValueError(f"domain lower {tuple(self.lower.shape)} and upper {tuple(self.upper.shape)} differ in shape")
        if torch.any(self.lower > self.upper):
            raise ValueError("domain box has lower > upper in some coordinate")
        if torch.isnan(self.lower).any() or torch.isnan(self.upper).any():
            raise ValueError("domain box has NaN bounds")
        for name, split in self.splits.items():
            if split.shape[0] != self.lower.shape[0]:
                raise ValueError(f"splits for {name!r} have batch {split.shape[0]}, domains have {self.lower.shape[0]}")

    @property
    def batch(self) -> int:
        return self.lower.shape[0]

    @property
    def box(self) -> Interval:
        return Interval(self.lower, self.upper)

    def index(self, idx: torch.Tensor | slice) -> "Domains":
        return Domains(self.lower[idx], self.upper[idx], {k: v[idx] for k, v in self.splits.items()})


def apply_split(box: Interval, split: torch.Tensor | None) -> Interval:
    """Tighten pre-activation bounds with split constraints (l := max(l, 0) where +1, u := min(u, 0) where -1)."""
    if split is None:
        return box
    split = split.reshape(box.lower.shape)
    return Interval(torch.where(split > 0, box.lower.clamp(min=0), box.lower),
                    torch.where(split < 0, box.upper.clamp(max=0), box.upper))


def empty_domains(box: Interval) -> torch.Tensor:
    """[B] bool: domains whose bounds cross (l > u somewhere), i.e. whose split constraints cannot all hold."""
    return (box.lower > box.upper).flatten(1).any(dim=1)


class BoundOptions(BaseModel):
    """How to bound; the defaults suit branch and bound."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intermediate: Literal["crown", "ibp"] = Field(
        "crown", description="bounds on pre-activation nodes: CROWN (tight) or IBP (cheap)")
    upper: bool = Field(False, description="also compute upper bounds on C·y − d")
    alpha_iterations: int = Field(20, ge=0, description="Adam steps of α-CROWN")
    alpha_lr: float = Field(0.1, gt=0, description="Adam learning rate of α-CROWN")
    dual_iterations: int = Field(
        50, ge=0, description="steps of the Anderson dual solvers (big-m, active-set, saddle-point), after α-CROWN")
    memory_bytes: int | None = Field(
        None, gt=0, description="working-memory budget; batches are split to fit (default: half the free "
        "CUDA memory, or 2 GiB on CPU)")


@dataclass
class AlphaState:
    """Optimised relaxation parameters per activation node, [specs, B, *shape] each; a child
    domain warm-starts from its parent's by `index`."""

    alphas: dict[str, torch.Tensor]

    def index(self, idx: torch.Tensor | slice) -> "AlphaState":
        return AlphaState({k: v[:, idx] for k, v in self.alphas.items()})

    @staticmethod
    def cat(states: list["AlphaState"]) -> "AlphaState":
        return AlphaState({k: torch.cat([s.alphas[k] for s in states], dim=1) for k in states[0].alphas})


@dataclass
class BoundResult:
    """Bounds on C·y − d per domain and specification, [B, S]; `intermediate[name]` the
    bounds on the input of nonlinear node `name` ([B, *shape], after splits); `warm_start`
    the α-CROWN state (None for other methods)."""

    lower: torch.Tensor
    upper: torch.Tensor | None
    intermediate: dict[str, Interval]
    warm_start: AlphaState | None = None

    @staticmethod
    def cat(parts: list["BoundResult"]) -> "BoundResult":
        first = parts[0]
        cat = lambda ts: torch.cat(ts, dim=0)  # noqa: E731
        return BoundResult(
            lower=cat([p.lower for p in parts]),
            upper=None if first.upper is None else cat([p.upper for p in parts]),
            intermediate={k: Interval(cat([p.intermediate[k].lower for p in parts]),
                                      cat([p.intermediate[k].upper for p in parts])) for k in first.intermediate},
            warm_start=None if first.warm_start is None else AlphaState.cat([p.warm_start for p in parts]))
