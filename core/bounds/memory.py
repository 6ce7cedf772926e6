"""How many domains (and backward-pass rows) fit in memory at once."""

from __future__ import annotations

import torch

from core.bounds.plan import Plan

_CPU_DEFAULT_BYTES = 2 * 1024**3
# Live copies of a coefficient tensor during a backward pass (running sum, a step's
# output and its clamped halves); α-CROWN also keeps the autograd graph and Adam state.
_CROWN_COPIES = 4
_ALPHA_COPIES = 12


def budget_bytes(device: torch.device, requested: int | None) -> int:
    if requested is not None:
        return requested
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return _CPU_DEFAULT_BYTES


def domains_per_chunk(plan: Plan, specs: int, optimised: bool, itemsize: int, budget: int) -> int:
    """Domains per call so that the final backward pass (specs rows, all of them at once) fits."""
    copies = _ALPHA_COPIES if optimised else _CROWN_COPIES
    per_domain = specs * plan.walk_size(plan.graph.output_name) * itemsize * copies
    return max(1, budget // max(per_domain, 1))


def rows_per_pass(plan: Plan, target: str, batch: int, itemsize: int, budget: int) -> int:
    """Rows of an intermediate bound's backward pass that fit at once for `batch` domains."""
    per_row = batch * plan.walk_size(target) * itemsize * _CROWN_COPIES
    return max(1, budget // max(per_row, 1))
