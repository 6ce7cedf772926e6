"""Graph rewrites after conversion: fold elementwise affine maps into the layer before.

BatchNormalization, bias Adds and input normalisation arrive as ScaleShift nodes; when
such a node's only input is a Linear, Conv or ScaleShift read by nothing else, the two
become one operator, exactly (the algebra is the same; only float rounding differs).
"""

from __future__ import annotations

import torch

from core.model.ir import Graph, Node
from core.model.operator import Operator
from core.model.ops.conv import Conv
from core.model.ops.linear import Linear
from core.model.ops.scale_shift import ScaleShift


def fold_affine(graph: Graph) -> Graph:
    """A copy of `graph` with every foldable ScaleShift merged into its producer."""
    nodes = list(graph.nodes)
    changed = True
    while changed:
        changed = False
        users = Graph(graph.input_name, graph.input_shape, nodes, graph.output_name,
                      graph.output_shape).consumers()
        by_name = {n.name: n for n in nodes}
        for node in nodes:
            if not isinstance(node.op, ScaleShift) or node.inputs[0] not in by_name:
                continue
            producer = by_name[node.inputs[0]]
            if len(users[producer.name]) != 1 or producer.name == graph.output_name:
                continue
            merged = _merge(producer, node)
            if merged is None:
                continue
            at = nodes.index(producer)
            nodes[at] = Node(node.name, merged, producer.inputs, node.shape, producer.onnx_name)
            nodes.remove(node)
            changed = True
            break
    return Graph(graph.input_name, graph.input_shape, nodes, graph.output_name, graph.output_shape,
                 graph.onnx_input_shape)


def _merge(producer: Node, node: Node) -> Operator | None:
    op: ScaleShift = node.op
    before = producer.op
    if isinstance(before, ScaleShift):
        return ScaleShift(before.scale * op.scale, before.shift * op.scale + op.shift, before.in_shape)
    axis = {Linear: len(node.shape), Conv: 1}.get(type(before))
    if axis is None or tuple(producer.shape) != tuple(node.shape):
        return None
    scale, shift = (_along(t, node.shape, axis) for t in (op.scale, op.shift))
    if scale is None or shift is None:
        return None
    weight = before.weight
    if not torch.all(scale == 1):  # a bias Add: keep the (possibly huge) weight as it is
        weight = weight * scale.reshape((-1,) + (1,) * (weight.dim() - 1))
    bias = shift if before.bias is None else before.bias * scale + shift
    if isinstance(before, Linear):
        return Linear(weight, bias)
    return Conv(weight, bias, before.window, before.groups, before.in_shape)


def _along(t: torch.Tensor, shape: tuple[int, ...], axis: int) -> torch.Tensor | None:
    """`t` as a vector along example axis `axis` (IR axis), or None when it varies elsewhere
    or would broadcast the output to a larger shape."""
    full_shape = (1,) + tuple(shape)
    try:
        if torch.broadcast_shapes(t.shape, full_shape) != full_shape:
            return None
    except RuntimeError:
        return None
    full = t.expand(full_shape).movedim(axis, 0).reshape(shape[axis - 1], -1)
    if not torch.equal(full.amax(1), full.amin(1)):
        return None
    return full[:, 0].clone()
