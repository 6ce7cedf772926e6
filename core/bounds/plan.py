"""What every bounding call on one graph can share: computed once per graph and cached."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch

from core.model.ir import Graph, Node
from core.model.operator import Activation, Affine
from core.model.ops.leaky_relu import LeakyRelu
from core.model.ops.linear import Linear
from core.model.ops.relu import Relu


@dataclass(frozen=True)
class Plan:
    """The static structure a backward pass needs.

    `nonlinear` are the nodes that need bounds on their input (everything not `Affine`),
    in topological order; `walk[t]` lists, in reverse topological order, the nodes a
    backward pass from tensor `t` must visit (t's ancestors, t included); `hinge_inputs`
    are the tensors read by ReLU / LeakyReLU nodes and no other nonlinear node;
    `chains[n]` is (one Linear, the chain's input) for a Linear node n fed by other
    Linears that nothing else reads (see `linear_chains`).
    """

    graph: Graph
    nonlinear: tuple[Node, ...]
    walk: dict[str, tuple[Node, ...]]
    numel: dict[str, int]
    hinge_inputs: frozenset[str]
    chains: dict[str, tuple[Linear, str]]

    @property
    def activations(self) -> tuple[Node, ...]:
        """The nonlinear nodes with optimisable relaxations (elementwise activations)."""
        return tuple(n for n in self.nonlinear if isinstance(n.op, Activation))

    def pre_activation(self, node: Node) -> str:
        return node.inputs[0]

    def walk_size(self, target: str) -> int:
        """Sum of per-example tensor sizes on a backward pass from `target` (for memory estimates)."""
        return sum(self.numel[n.name] for n in self.walk[target]) + self.numel[self.graph.input_name]


def _is_hinge(op) -> bool:
    """ReLU / LeakyReLU, also when wrapped (β-CROWN's `BetaRelu` keeps the ReLU as `inner`):
    exact on neurons whose bounds prove their sign, so one graph and its β-wrapped copy
    get the same intermediate bounds."""
    return isinstance(op, (Relu, LeakyRelu)) or isinstance(getattr(op, "inner", None), (Relu, LeakyRelu))


def _build(graph: Graph) -> Plan:
    nonlinear = []
    for node in graph.nodes:
        if not isinstance(node.op, Affine):
            if len(node.inputs) != 1:
                raise ValueError(f"node {node.name!r} ({type(node.op).__name__}) is nonlinear in several variable "
                                 "inputs; the bounding engine supports nonlinear operators of one input only")
            nonlinear.append(node)
    ancestors: dict[str, frozenset[str]] = {graph.input_name: frozenset()}
    for node in graph.nodes:
        ancestors[node.name] = frozenset({node.name}).union(*(ancestors[i] for i in node.inputs))
    order = {node.name: k for k, node in enumerate(graph.nodes)}
    targets = {graph.output_name} | {n.inputs[0] for n in nonlinear}
    walk = {}
    for t in targets:
        names = sorted(ancestors[t], key=order.__getitem__, reverse=True)
        walk[t] = tuple(graph.node(n) for n in names)
    numel = {graph.input_name: math.prod(graph.input_shape)}
    numel.update({n.name: math.prod(n.shape) for n in graph.nodes})
    hinge = {n.inputs[0] for n in nonlinear} - {n.inputs[0] for n in nonlinear if not _is_hinge(n.op)}
    return Plan(graph, tuple(nonlinear), walk, numel, frozenset(hinge), linear_chains(graph))


def linear_chains(graph: Graph) -> dict[str, tuple[Linear, str]]:
    """For the last Linear of each chain of Linears on flat features whose inner tensors
    nothing else reads, where one product is smaller than the chain's matrices: the chain
    as one Linear (composed in float64) and the chain's input.

    tllverifybench's networks put two or three MatMuls between ReLUs (2 -> 48 -> 2304 ->
    4608); a backward pass multiplied its coefficients by each factor in turn, and the
    bound on one neuron of a 2304-wide layer paid for a 4608 x 1152 x 4608 product. A
    chain that narrows and widens again (4608 -> 1152 -> 2304) stays as it is: its product
    would be larger, and composing the N=64 network's chains took 7 s. Only the backward
    passes use the composition: the graph, its forward pass and its interval bounds stay
    layer by layer, as the certificate checker computes them.
    """
    users = graph.consumers()
    by_name = {n.name: n for n in graph.nodes}

    def feeds_a_chain(node: Node) -> bool:
        return (isinstance(node.op, Linear) and len(node.shape) == 1 and len(users[node.name]) == 1
                and node.name != graph.output_name and isinstance(users[node.name][0].op, Linear))

    chains = {}
    for node in graph.nodes:
        if not isinstance(node.op, Linear) or len(node.shape) != 1 or feeds_a_chain(node):
            continue
        ops, source = [node.op], node.inputs[0]
        while source in by_name and feeds_a_chain(by_name[source]):
            ops.append(by_name[source].op)
            source = by_name[source].inputs[0]
        if len(ops) < 2 or ops[0].weight.shape[0] * ops[-1].weight.shape[1] >= sum(op.weight.numel() for op in ops):
            continue
        weight, bias = ops[0].weight.double(), _bias(ops[0])
        for inner in ops[1:]:
            bias = bias + weight @ _bias(inner)
            weight = weight @ inner.weight.double()
        like = node.op.weight
        chains[node.name] = (Linear(weight.to(like.dtype), bias.to(like.dtype)), source)
    return chains


def _bias(op: Linear) -> torch.Tensor:
    return torch.zeros(op.weight.shape[0], dtype=torch.float64, device=op.weight.device) if op.bias is None \
        else op.bias.double()


# The last few graphs' plans. Graphs are unhashable dataclasses, so the cache is keyed by
# id and checked by identity; it holds at most _CACHED graphs alive.
_CACHED = 8
_PLANS: OrderedDict[int, Plan] = OrderedDict()


def plan_for(graph: Graph) -> Plan:
    """The plan of `graph`, built on first use and cached."""
    plan = _PLANS.get(id(graph))
    if plan is None or plan.graph is not graph:
        plan = _build(graph)
        _PLANS[id(graph)] = plan
        while len(_PLANS) > _CACHED:
            _PLANS.popitem(last=False)
    _PLANS.move_to_end(id(graph))
    return plan
