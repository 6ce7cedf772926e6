"""How many domains a dual solver can take at once."""

from __future__ import annotations

from core.bounds.anderson.layers import AndersonNet

DUAL_METHODS = ("big-m", "active-set", "saddle-point")
# Live tensors of the mask's size per domain and spec: the stacked cuts (up to 4), their
# weighted sum, the Lagrangian's products and their gradients.
_MASK_COPIES = 12


def dual_domains_per_chunk(net: AndersonNet, specs: int, itemsize: int, budget: int) -> int:
    per_domain = specs * itemsize * _MASK_COPIES * sum(layer.idx.numel() + 4 * layer.size for layer in net.layers)
    return max(1, budget // max(per_domain, 1))
