"""Bound a VNN-LIB property: every disjunct of every region, one bounding call per region."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bounds.api import Method, bound
from core.bounds.domains import BoundOptions, Domains
from core.model.ir import Graph
from core.spec.property import Property


@dataclass(frozen=True)
class RegionProblem:
    """One region as the engine takes it: its box as one domain and every constraint row of
    every disjunct stacked into C [1, S, n_outputs], d [1, S]; `rows[k]` are disjunct k's rows."""

    domains: Domains
    C: torch.Tensor
    d: torch.Tensor
    rows: tuple[slice, ...]


@dataclass(frozen=True)
class DisjunctBound:
    """Lower bounds of c_i·y − d_i for one disjunct's rows; refuted when one of them is > 0."""

    lower: list[float]

    @property
    def refuted(self) -> bool:
        return any(v > 0 for v in self.lower)


def region_problems(prop: Property, graph: Graph, dtype: torch.dtype = torch.float64,
                    device: torch.device | str | None = None) -> list[RegionProblem]:
    if prop.n_inputs != graph.input_size or prop.n_outputs != graph.output_size:
        raise ValueError(f"the property has {prop.n_inputs} inputs and {prop.n_outputs} outputs, the network "
                         f"{graph.input_size} and {graph.output_size}")
    as_tensor = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    problems = []
    for region in prop.regions:
        starts = [0]
        for conj in region.unsafe:
            starts.append(starts[-1] + conj.C.shape[0])
        C = torch.cat([as_tensor(conj.C) for conj in region.unsafe]).unsqueeze(0)
        d = torch.cat([as_tensor(conj.d) for conj in region.unsafe]).unsqueeze(0)
        domains = Domains(as_tensor(region.box.lower).unsqueeze(0), as_tensor(region.box.upper).unsqueeze(0))
        problems.append(RegionProblem(domains, C, d, tuple(slice(a, b) for a, b in zip(starts, starts[1:]))))
    return problems


def bound_property(graph: Graph, prop: Property, method: Method = "crown",
                   options: BoundOptions | None = None) -> list[DisjunctBound]:
    """Lower bounds for each disjunct of each region, in the property's order."""
    dtype, device = _constants_dtype(graph)
    out = []
    for problem in region_problems(prop, graph, dtype, device):
        lower = bound(graph, problem.domains, problem.C, problem.d, method, options).lower[0]
        out.extend(DisjunctBound(lower[rows].tolist()) for rows in problem.rows)
    return out


def _constants_dtype(graph: Graph) -> tuple[torch.dtype, torch.device | None]:
    """The dtype and device of the graph's constants, which the domains must share."""
    for node in graph.nodes:
        for value in vars(node.op).values():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                return value.dtype, value.device
    return torch.float64, None
