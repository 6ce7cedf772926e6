"""The graph IR that every bounding method walks.

A `Graph` is a topologically ordered list of `Node`s. The network has exactly one
variable input; every constant (weights, shapes, folded subgraphs) lives inside the
operator objects. Tensors inside the IR carry a leading batch dimension that the ONNX
file may or may not have had: a node's `shape` is the shape of one example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from core.model.operator import Operator


@dataclass(frozen=True)
class Interval:
    """Elementwise bounds `lower <= x <= upper`, both shaped [batch, *shape]."""

    lower: torch.Tensor
    upper: torch.Tensor

    @staticmethod
    def point(x: torch.Tensor) -> "Interval":
        return Interval(x, x)

    @property
    def center(self) -> torch.Tensor:
        return (self.upper + self.lower) / 2

    @property
    def radius(self) -> torch.Tensor:
        return (self.upper - self.lower) / 2


@dataclass(frozen=True)
class Node:
    """One operator application: `name = op(*inputs)`.

    `inputs` name variable tensors only (the graph input or earlier nodes); `shape` is
    the output shape of one example (no batch dimension).
    """

    name: str
    op: "Operator"
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    onnx_name: str = ""


@dataclass
class Graph:
    """A network as the engine sees it.

    `input_shape` / `output_shape` are per example. `onnx_input_shape` is the shape
    declared in the ONNX file (with its batch dimension, if any), needed to replay
    inputs in onnxruntime.
    """

    input_name: str
    input_shape: tuple[int, ...]
    nodes: list[Node]
    output_name: str
    output_shape: tuple[int, ...]
    onnx_input_shape: tuple[int, ...] = ()
    _index: dict[str, Node] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {node.name: node for node in self.nodes}

    def node(self, name: str) -> Node:
        return self._index[name]

    @property
    def input_size(self) -> int:
        return int(torch.Size(self.input_shape).numel())

    @property
    def output_size(self) -> int:
        return int(torch.Size(self.output_shape).numel())

    def forward(self, x: torch.Tensor, keep: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """Evaluate on a batch `x` shaped [batch, *input_shape] (or [batch, input_size]).

        Returns the output [batch, *output_shape], or with `keep` every tensor by name.
        """
        values: dict[str, torch.Tensor] = {self.input_name: x.reshape(x.shape[0], *self.input_shape)}
        for node in self.nodes:
            values[node.name] = node.op.forward(*(values[i] for i in node.inputs))
        return values if keep else values[self.output_name]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "Graph":
        """A copy whose constants live on `device` with floating dtype `dtype`."""
        nodes = [Node(n.name, n.op.to(device, dtype), n.inputs, n.shape, n.onnx_name) for n in self.nodes]
        return Graph(self.input_name, self.input_shape, nodes, self.output_name, self.output_shape,
                     self.onnx_input_shape)

    def consumers(self) -> dict[str, list[Node]]:
        """For every tensor name, the nodes that read it."""
        users: dict[str, list[Node]] = {self.input_name: []}
        for node in self.nodes:
            users.setdefault(node.name, [])
            for name in node.inputs:
                users.setdefault(name, []).append(node)
        return users
