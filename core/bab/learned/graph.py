"""The verified network as the GNN's graph: its neurons as nodes, its weights as edges.

Nodes are the input, every ReLU layer (one node per neuron: its pre-activation and its
output are the same node) and the output. Between them the network is affine once the
ReLU outputs are fixed, whatever its operators (Linear, Conv, Add of a residual branch,
reshapes): so each edge matrix is read off the network itself by probing, with every
source layer set to zero and then to the identity, one source at a time. Convolutions
come out as their unrolled matrices, kept sparse.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.bab.bounding import relu_layout
from core.model.ir import Graph

# An unrolled matrix with fewer nonzeros than this share is kept sparse (convolutions).
SPARSE_BELOW = 0.25


@dataclass
class Edges:
    """W [target size, source size] (dense or sparse COO) from layer `source` to layer `target`."""

    source: int
    target: int
    weight: torch.Tensor


@dataclass
class NetworkGraph:
    """Layers 0 (input), 1..L (ReLU layers in `relu_layout` order), L+1 (output); `sizes`
    per layer; `bias` per non-input layer [size] (the pre-activation with every source at
    zero); `edges`, in order of their target."""

    sizes: list[int]
    bias: list[torch.Tensor]
    edges: list[Edges]

    @property
    def relu_layers(self) -> int:
        return len(self.sizes) - 2

    def into(self, target: int) -> list[Edges]:
        return [e for e in self.edges if e.target == target]

    def out_of(self, source: int) -> list[Edges]:
        return [e for e in self.edges if e.source == source]

    def to(self, dtype: torch.dtype) -> "NetworkGraph":
        return NetworkGraph(self.sizes, [b.to(dtype) for b in self.bias],
                            [Edges(e.source, e.target, e.weight.to(dtype)) for e in self.edges])

    def state(self) -> dict:
        """Plain tensors and lists (what `torch.save` stores in a data shard)."""
        return {"sizes": self.sizes, "bias": self.bias,
                "edges": [(e.source, e.target, e.weight) for e in self.edges]}

    @staticmethod
    def of_state(state: dict) -> "NetworkGraph":
        return NetworkGraph(list(state["sizes"]), list(state["bias"]),
                            [Edges(s, t, w) for s, t, w in state["edges"]])


def _probe(graph: Graph, source_values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every tensor of `graph` with the ReLU outputs named in `source_values` replaced
    (and the input given there under the input's name)."""
    values = {graph.input_name: source_values[graph.input_name].reshape(-1, *graph.input_shape)}
    for node in graph.nodes:
        if node.name in source_values:
            values[node.name] = source_values[node.name].reshape(-1, *node.shape)
        else:
            values[node.name] = node.op.forward(*(values[i] for i in node.inputs))
    return values


@torch.no_grad()
def network_graph(graph: Graph) -> NetworkGraph:
    """Probe `graph` (float64, CPU) for its layers' affine maps."""
    graph = graph.to("cpu", torch.float64)
    layout = relu_layout(graph)
    sources = [graph.input_name] + [name for name, _, _ in layout]
    sizes = [graph.input_size] + [size for _, _, size in layout] + [graph.output_size]
    targets = [graph.node(name).inputs[0] for name, _, _ in layout] + [graph.output_name]

    def zeros(rows: int) -> dict[str, torch.Tensor]:
        return {name: torch.zeros(rows, size, dtype=torch.float64) for name, size in zip(sources, sizes)}

    base = _probe(graph, zeros(1))
    bias = [base[t].reshape(-1).to(torch.float32) for t in targets]
    edges = []
    for s, name in enumerate(sources):
        values = zeros(sizes[s])
        values[name] = torch.eye(sizes[s], dtype=torch.float64)
        probed = _probe(graph, values)
        for t, target in enumerate(targets, start=1):
            if t <= s:
                continue
            weight = (probed[target].reshape(sizes[s], -1) - base[target].reshape(1, -1)).T
            weight = torch.where(weight.abs() > 1e-12, weight, torch.zeros_like(weight)).to(torch.float32)
            nonzero = int((weight != 0).sum())
            if not nonzero:
                continue
            if nonzero < SPARSE_BELOW * weight.numel():
                weight = weight.to_sparse_coo().coalesce()
            edges.append(Edges(s, t, weight))
    return NetworkGraph(sizes, bias, edges)
