"""What a PINN certification run is asked: the PDE, the domain, the tolerance and the budget.

Torch-free, so the API validates a `pinn` job's config with the engine's own type.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from core.numbers import Count, Real
from core.pinn.pde import PDES, get_pde

ConditionName = Literal["residual", "initial", "boundary"]


class PinnOptions(BaseModel):
    """Options of `core.pinn.certify.certify_pinn`; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pde: str = Field("burgers", description=f"Which PDE: {', '.join(sorted(PDES))}.")
    domain: tuple[tuple[Real, Real], tuple[Real, Real]] | None = Field(
        None, description="[[t0, t1], [x0, x1]] inside the PDE's own domain (default: all of it).")
    tolerance: Real | None = Field(None, gt=0, description="The largest |residual| allowed: the verdict says "
                                   "whether it holds everywhere.")
    conditions: tuple[ConditionName, ...] = Field(("residual", "initial", "boundary"), min_length=1,
                                                  description="Which residuals to certify.")
    budget_s: Real = Field(60.0, gt=0, description="Seconds of splitting, shared by the conditions "
                           "(the residual gets 80%).")
    max_pieces: Count = Field(200_000, ge=1, description="Pieces per condition at most.")
    grid: Count = Field(201, ge=2, le=2001, description="Empirical grid points per axis.")
    target_ratio: Real = Field(1.0, ge=1.0, description="Stop once certified/empirical is at most this.")

    @field_validator("pde")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PDES:
            raise ValueError(f"unknown pde {value!r}; known: {', '.join(sorted(PDES))}")
        return value

    @field_validator("domain")
    @classmethod
    def _inside(cls, domain, info: ValidationInfo):
        if domain is None or "pde" not in info.data:
            return domain
        pde = info.data["pde"]
        for axis, ((lo, hi), (flo, fhi)) in enumerate(zip(domain, get_pde(pde).domain)):
            name = "tx"[axis]
            if not lo < hi:
                raise ValueError(f"{name} range [{lo}, {hi}] is empty; give [low, high] with low < high")
            if lo < flo or hi > fhi:
                raise ValueError(f"{name} range [{lo}, {hi}] leaves {pde}'s [{flo:g}, {fhi:g}]")
        return domain

    def box(self) -> np.ndarray:
        """[[t0, t1], [x0, x1]] as an array."""
        return np.array(self.domain, dtype=np.float64) if self.domain is not None else get_pde(self.pde).domain


# ONNX operators a tanh MLP may be exported with (affine steps, shape no-ops, Tanh).
PINN_OPERATORS = frozenset({"Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Tanh", "Identity", "Reshape",
                            "Flatten", "Constant"})


def model_problem(summary: dict, pde: str) -> str | None:
    """Why a model (its torch-free upload summary: inputs, outputs, operators) cannot be a
    PINN for `pde`, or None; the loader still has the last word on the exact structure."""
    ops = summary.get("operators", {})
    other = sorted(set(ops) - PINN_OPERATORS)
    if other:
        return f"a pinn job needs a tanh MLP; this network has {', '.join(other)}"
    if "Tanh" not in ops:
        return "a pinn job needs a tanh MLP; this network has no Tanh"

    def size(ios):
        n = 0
        for io in ios:
            k = 1
            for dim in io["shape"]:
                k *= dim if isinstance(dim, int) and dim > 0 else 1
            n += k
        return n

    want = get_pde(pde).n_outputs
    n_in, n_out = size(summary.get("inputs", [])), size(summary.get("outputs", []))
    if (n_in, n_out) != (2, want):
        return f"{pde} needs a network from (t, x) to {want} output(s); this one has {n_in} inputs and {n_out} outputs"
    return None
