"""β: optimisable multipliers for ReLU split constraints (β-CROWN), on top of α-CROWN.

A split says s·z >= 0 for a pre-activation z (s = +1 active, -1 inactive). For every
x that satisfies the domain's splits, -β·s·z <= 0 when β >= 0, so

    min f(x) over the domain  >=  min over the box of  f(x) - Σ β·s·z,

and the right side is what a backward pass computes once -β·s is added to the
coefficient on z. The same holds for any neuron whose bounds already prove its sign
(l >= 0 or u <= 0 on the domain), so the sign s is read off the pre-activation box the
backward step receives: no split tensors need to reach the operator, and one wrapped
graph serves every batch of a search.

`with_beta(graph)` wraps each ReLU in a `BetaRelu` whose α parameter carries two
channels per neuron, [..., 0] the lower-relaxation slope (clipped to [0, 1]) and
[..., 1] the multiplier β (>= 0), so α-CROWN's optimiser tunes both jointly and its
warm start hands both to the children.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from core.model.ir import Graph, Interval, Node
from core.model.operator import Activation, Backward, Relaxation
from core.model.ops.relu import Relu


def split_sign(box: Interval) -> torch.Tensor:
    """+1 where the box proves z >= 0, -1 where it proves z <= 0, 0 where z may take both signs."""
    one = torch.ones_like(box.lower)
    return torch.where(box.lower >= 0, one, torch.where(box.upper <= 0, -one, torch.zeros_like(one)))


@dataclass(eq=False)
class BetaRelu(Activation):
    """A ReLU whose α has a slope channel and a β channel (stacked on the dimension after the batch)."""

    inner: Relu
    alpha_range = (0.0, math.inf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.forward(x)

    def interval(self, x: Interval) -> Interval:
        return self.inner.interval(x)

    def relax(self, bounds: Interval, alpha: torch.Tensor | None = None) -> Relaxation:
        return self.inner.relax(bounds, None if alpha is None else alpha.select(2, 0).clamp(max=1.0))

    def alpha_init(self, bounds: Interval) -> torch.Tensor:
        slope = self.inner.alpha_init(bounds)
        return torch.stack([slope, torch.zeros_like(slope)], dim=1)

    def backward(self, lA, uA, inputs, alpha=None) -> Backward:
        step = super().backward(lA, uA, inputs, alpha)
        if alpha is None or lA is None:
            return step
        beta = alpha.select(2, 1)
        new_l, new_u = step.coefficients[0]
        return Backward([(new_l - beta * split_sign(inputs[0]), new_u)], step.lower_bias, step.upper_bias)

    def describe(self) -> str:
        return "ReLU with split multipliers (β-CROWN)"


def with_beta(graph: Graph) -> Graph:
    """The same network with every ReLU wrapped in a `BetaRelu` (other nodes shared)."""
    nodes = [Node(n.name, BetaRelu(n.op), n.inputs, n.shape, n.onnx_name) if isinstance(n.op, Relu) else n
             for n in graph.nodes]
    return Graph(graph.input_name, graph.input_shape, nodes, graph.output_name, graph.output_shape,
                 graph.onnx_input_shape)

