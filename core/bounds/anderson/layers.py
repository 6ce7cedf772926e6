"""A ReLU network as the chain the Anderson duals need: x̂_k = W_k x_{k−1} + b_k, x_k = relu(x̂_k).

Each W_k is read off the graph (the affine path from ReLU k−1's output, or from x_0, to
ReLU k's input: Conv, Linear, Reshape) by pushing the identity backward through it, so
its entries are the file's weights unchanged. Only nonzero entries matter to the
Anderson constraints; they are kept row by row in increasing column order (`idx`, `w`,
padded to the longest row with weight 0), the order certificates use.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch

from core.model.ir import Graph, Interval, Node
from core.model.operator import Affine
from core.model.ops.conv import Conv
from core.model.ops.linear import Linear
from core.model.ops.relu import Relu


class Unsupported(ValueError):
    """The network is not a chain of affine layers and ReLUs (the message says where)."""


@dataclass(frozen=True)
class Layer:
    """One Linear/Conv + ReLU: `relu` the ReLU node, `pre` its input tensor (m neurons);
    W as `dense` [m, n] and as sparse rows `idx`/`w` [m, K]; `b` [m]."""

    relu: str
    pre: str
    shape: tuple[int, ...]
    dense: torch.Tensor
    idx: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor
    full_rows: bool  # every row holds every column in order (a dense Linear): no index needed

    @property
    def size(self) -> int:
        return self.dense.shape[0]

    def transpose_times(self, y: torch.Tensor) -> torch.Tensor:
        """Wᵀ y for y [..., m] -> [..., n]."""
        return y @ self.dense


    def scatter(self, entries: torch.Tensor) -> torch.Tensor:
        """Σ_j entries[..., j, k] onto input idx[j, k]: [..., m, K] -> [..., n]."""
        if self.full_rows:
            return entries.sum(-2)
        lead = entries.shape[:-2]
        out = entries.new_zeros(*lead, self.dense.shape[1])
        return out.index_add_(out.dim() - 1, self.idx.reshape(-1), entries.reshape(*lead, -1))

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """x[..., idx]: [..., n] -> [..., m, K]."""
        if self.full_rows:
            return x.unsqueeze(-2).expand(*x.shape[:-1], self.size, x.shape[-1])
        return x[..., self.idx]


@dataclass(frozen=True)
class AndersonNet:
    """`prefix`: elementwise nodes applied to the input before x_0 (normalisation,
    flattening), by interval arithmetic; `layers`; `last` = (W [n_out, m_R], b) from the
    last ReLU to the output, or None when the output is the last ReLU's output."""

    graph: Graph
    prefix: tuple[Node, ...]
    x0: str
    layers: tuple[Layer, ...]
    last: tuple[torch.Tensor, torch.Tensor] | None

    def input_box(self, box: Interval) -> Interval:
        """The box of x_0, flat [B, n0], from the input box [B, *input_shape]."""
        boxes = {self.graph.input_name: box}
        for node in self.prefix:
            boxes[node.name] = node.op.interval(*(boxes[i] for i in node.inputs))
        out = boxes[self.x0]
        return Interval(out.lower.flatten(1), out.upper.flatten(1))

    def objective(self, C: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The spec through the last affine step: coefficients [S, B|1, m_R] on x_R and constants [S, B|1]."""
        coefficient = C.transpose(0, 1)  # [S, B|1, n_out]
        offset = -d.T
        if self.last is not None:
            W, b = self.last
            offset = offset + coefficient @ b
            coefficient = coefficient @ W
        return coefficient, offset


def _is_relu(op) -> bool:
    return isinstance(op, Relu) or isinstance(getattr(op, "inner", None), Relu)


def _path_matrix(graph: Graph, start: str, end: str, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """W [m, n], b [m] of the affine path from tensor `start` to tensor `end`."""
    by_name = {n.name: n for n in graph.nodes}
    end_shape = by_name[end].shape
    m = math.prod(end_shape)
    A = torch.eye(m, dtype=dtype, device=device).reshape(m, 1, *end_shape)
    bias = torch.zeros(m, 1, dtype=dtype, device=device)
    name = end
    while name != start:
        node = by_name.get(name)
        if node is None or not isinstance(node.op, Affine) or len(node.inputs) != 1:
            what = "the input" if node is None else f"{type(node.op).__name__} node {name!r}"
            raise Unsupported(f"{what} lies between {start!r} and {end!r}: the Anderson duals need each "
                              "ReLU's input to be an affine function of the previous ReLU's output alone")
        coefficients, step_bias = node.op.linear_backward(A)
        bias = bias + step_bias
        A, name = coefficients[0], node.inputs[0]
    return A.reshape(m, -1), bias.reshape(m)


def _sparse_rows(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's nonzero columns in increasing order, padded with column 0 and weight 0."""
    nonzero = W != 0
    K = max(1, int(nonzero.sum(1).max()))
    # a stable sort puts the nonzero columns first, each group in its original (increasing) order
    order = torch.sort((~nonzero).to(torch.int8), dim=1, stable=True).indices[:, :K]
    keep = torch.gather(nonzero, 1, order)
    idx = torch.where(keep, order, torch.zeros_like(order))
    return idx, torch.where(keep, torch.gather(W, 1, order), torch.zeros((), dtype=W.dtype, device=W.device))


def _build(graph: Graph) -> AndersonNet:
    relus = [n for n in graph.nodes if not isinstance(n.op, Affine)]
    for node in relus:
        if not _is_relu(node.op):
            raise Unsupported(f"node {node.name!r} is a {type(node.op).__name__}: the Anderson duals handle ReLU only")
    if not relus:
        raise Unsupported("the network has no ReLU")
    by_name = {n.name: n for n in graph.nodes}
    # x_0: the input of the first Linear/Conv on the way to the first ReLU
    path, name = [], relus[0].inputs[0]
    while name != graph.input_name:
        path.append(by_name[name])
        name = by_name[name].inputs[0] if len(by_name[name].inputs) == 1 else graph.input_name
    path.reverse()
    first = next((k for k, n in enumerate(path) if isinstance(n.op, (Linear, Conv))), 0)
    prefix, x0 = tuple(path[:first]), (path[first - 1].name if first else graph.input_name)
    like = next(t for n in graph.nodes for t in vars(n.op).values() if isinstance(t, torch.Tensor))
    dtype, device = like.dtype, like.device
    layers, source = [], x0
    for node in relus:
        W, b = _path_matrix(graph, source, node.inputs[0], dtype, device)
        idx, w = _sparse_rows(W)
        full = idx.shape[1] == W.shape[1] and bool((w != 0).all())
        layers.append(Layer(node.name, node.inputs[0], tuple(node.shape), W, idx, w, b, full))
        source = node.name
    last = None
    if graph.output_name != source:
        last = _path_matrix(graph, source, graph.output_name, dtype, device)
    return AndersonNet(graph, prefix, x0, tuple(layers), last)


_CACHED = 4
_NETS: OrderedDict[int, tuple[Graph, AndersonNet | Unsupported]] = OrderedDict()


def anderson_net(graph: Graph) -> AndersonNet:
    """The chain form of `graph` (cached per graph); raises `Unsupported` with the reason."""
    entry = _NETS.get(id(graph))
    if entry is None or entry[0] is not graph:
        try:
            entry = (graph, _build(graph))
        except Unsupported as exc:
            entry = (graph, exc)
        _NETS[id(graph)] = entry
        while len(_NETS) > _CACHED:
            _NETS.popitem(last=False)
    if isinstance(entry[1], Unsupported):
        raise entry[1]
    return entry[1]
