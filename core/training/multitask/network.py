"""A shared trunk with one linear head per task, as one `nn.Sequential`, and each task's graph.

The heads are the rows of the last Linear layer: task t owns rows [t·K, (t+1)·K) of its
weight and bias (K classes), which computes exactly what T separate linear heads on the
trunk's output compute. So the network stays a plain sequential one that the graph IR,
the ONNX export and the verifier already handle; its output is the T heads' logits side
by side ([T·K]; [K] with one shared head).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.model.ir import Graph, Node
from core.model.ops.linear import Linear
from core.training.architectures import build, ibp_init
from core.training.convert import to_graph


def build_network(arch: str, input_shape: tuple[int, ...], heads: int, classes: int = 10) -> nn.Sequential:
    """`arch`'s trunk with `heads` linear heads of `classes` logits, IBP-initialised."""
    model = build(arch, input_shape, classes)
    last = model[-1]
    model[-1] = nn.Linear(last.in_features, heads * classes)
    ibp_init(model[-1])
    return model


def head_rows(task: int, heads: int, classes: int = 10) -> slice:
    """The output rows of `task`'s head (all of them with a single shared head)."""
    return slice(0, classes) if heads == 1 else slice(task * classes, (task + 1) * classes)


def shared_and_specific(model: nn.Sequential, heads: int) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(the trunk's parameters, the heads'); one shared head counts as shared."""
    trunk = [p for layer in model[:-1] for p in layer.parameters()]
    head = list(model[-1].parameters())
    return (trunk + head, []) if heads == 1 else (trunk, head)


@dataclass
class StepGraphs:
    """This step's trunk output on the clean batch ([B, features]) and, per task, its graph
    (trunk + that task's head) and clean logits [B, K]."""

    features: torch.Tensor
    graphs: list[Graph]
    logits: list[torch.Tensor]


def step_graphs(model: nn.Sequential, input_shape: tuple[int, ...], x: torch.Tensor, heads: int, tasks: int,
                dropout: float = 0.0, generator: torch.Generator | None = None, classes: int = 10) -> StepGraphs:
    """Fold the trunk on the clean batch `x` (BatchNorm statistics, once) and hang each task's
    head on it. With `dropout`, one mask over the heads' input units for the whole batch
    (scaled by 1/(1 − p)), so the bounds see the same thinned network as the clean pass."""
    trunk = to_graph(nn.Sequential(*model[:-1]), input_shape, x)
    head = model[-1]
    weight = head.weight
    if dropout > 0 and model.training:
        keep = torch.rand(weight.shape[1], generator=generator, device="cpu") >= dropout
        weight = weight * (keep.to(weight) / (1 - dropout))
    graphs, logits = [], []
    for t in range(tasks):
        rows = head_rows(t, heads, classes)
        op = Linear(weight[rows], head.bias[rows])
        node = Node("head", op, (trunk.graph.output_name,), (classes,))
        g = trunk.graph
        graphs.append(Graph(g.input_name, g.input_shape, [*g.nodes, node], "head", (classes,), g.onnx_input_shape))
        logits.append(op.forward(trunk.logits))
    return StepGraphs(trunk.logits, graphs, logits)


def task_graph(graph: Graph, task: int, heads: int, classes: int = 10) -> Graph:
    """The graph of one task's head of an (exported, loaded) multi-head network whose last node is Linear."""
    last = graph.nodes[-1]
    if not isinstance(last.op, Linear):
        raise ValueError("a multi-head network must end in a Linear layer")
    rows = head_rows(task, heads, classes)
    op = Linear(last.op.weight[rows], None if last.op.bias is None else last.op.bias[rows])
    node = Node(last.name, op, last.inputs, (classes,), last.onnx_name)
    return Graph(graph.input_name, graph.input_shape, [*graph.nodes[:-1], node], last.name, (classes,),
                 graph.onnx_input_shape)
