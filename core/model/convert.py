"""The ONNX graph -> IR conversion proper, node by node, collecting every problem."""

from __future__ import annotations

import dataclasses

import onnx
import torch
from onnx import numpy_helper

from core.model.constants import evaluate, shape_of
from core.model.errors import node_label
from core.model.ir import Graph, Node
from core.model.onnx_graph import SHAPE_ONLY_OPS, GraphInfo, declared_shape
from core.model.onnx_node import Alias, OnnxNode, Operand, Unsupported
from core.model.operator import Operator
from core.model.ops.window import window
from core.model.registry import operator_class

_SHAPE_PROBE_BATCH = 2  # a probe batch of 2 catches operators that mix examples


def input_operand(info: GraphInfo) -> Operand:
    """The network input; ONNX axis 0 is a batch axis when it is 1 or symbolic and more axes follow."""
    declared = declared_shape(info.input)
    shape = tuple(d if isinstance(d, int) and d > 0 else 1 for d in declared)
    batched = len(shape) >= 2 and (shape[0] == 1 or not isinstance(declared[0], int) or declared[0] <= 0)
    return Operand(info.input.name, shape, None, batched)


def from_attributes(cls: type[Operator], node: OnnxNode) -> Operator:
    """Build an operator whose dataclass fields are named like its ONNX attributes
    (activations, MaxPool): one variable input; absent attributes take the class's
    defaults, which follow ONNX's; window attributes are resolved to explicit pads."""
    if len(node.variables) != 1 or len(node.operands) != 1:
        raise Unsupported("expects exactly one input, which depends on the network input")
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in node.attrs.items() if k in fields}
    if "kernel_shape" in node.attrs:
        win = window(node, tuple(node.attrs["kernel_shape"]), node.variables[0].shape[2:])
        kwargs.update(strides=win.strides, pads=win.pads, dilations=win.dilations)
    kwargs = {k: v for k, v in kwargs.items() if k in fields}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None


class Converter:
    """Walks the sorted ONNX nodes once; `problems` holds one line per node it rejects."""

    def __init__(self, info: GraphInfo):
        self.info = info
        self.problems: list[str] = []
        self.nodes: list[Node] = []
        self.values: dict[str, Operand] = {name: Operand(name, tuple(t.dims), numpy_helper.to_array(t))
                                           for name, t in info.initializers.items()}
        self.failed: set[str] = set()
        x = input_operand(info)
        self.input = x
        self.values[x.name] = x
        self.probes = {x.name: torch.randn(_SHAPE_PROBE_BATCH, *x.example_shape, dtype=torch.float64)}

    def run(self) -> Graph | None:
        for proto in self.info.order:
            self._node(proto)
        out = self.values.get(self.info.output.name)
        if not self.problems and out is not None:
            self._check_declared_output(out)
        if self.problems or out is None:
            return None
        return Graph(self.input.name, self.input.example_shape, self.nodes, out.name, out.example_shape,
                     self.input.shape)

    def _check_declared_output(self, out: Operand) -> None:
        """A static output shape in the file must be the one the conversion computed."""
        declared = declared_shape(self.info.output)
        if not declared or not all(isinstance(d, int) and d > 0 for d in declared[1:]):
            return
        computed = out.shape
        known = tuple(d if isinstance(d, int) and d > 0 else 1 for d in declared)
        if known != computed:
            self.problems.append(f"the output '{out.name}' is declared with shape {list(declared)}, but the "
                                 f"network computes {list(computed)}")

    def _node(self, proto: onnx.NodeProto) -> None:
        label = node_label(proto.name or proto.output[0], proto.op_type)
        names = list(proto.input)
        if any(name in self.failed for name in names):
            self.failed.update(proto.output)  # the failure upstream is already reported
            return
        missing = [name for name in names if name and name not in self.values]
        if missing:
            self.problems.append(f"{label}: reads {missing}, an output this engine does not produce")
            self.failed.update(proto.output)
            return
        operands = [self.values[name] if name else None for name in names]
        try:
            self._convert(proto, operands)
        except Unsupported as exc:
            self.problems.append(f"{label}: {exc}")
            self.failed.update(proto.output)

    def _convert(self, proto: onnx.NodeProto, operands: list[Operand | None]) -> None:
        opset = self.info.opset
        if all(op is None or op.is_constant for op in operands):
            for name, value in zip(proto.output, evaluate(proto, operands, opset)):
                self.values[name] = Operand(name, tuple(value.shape), value)
            return
        if proto.op_type in SHAPE_ONLY_OPS:
            value = shape_of(proto, operands[0])
            self.values[proto.output[0]] = Operand(proto.output[0], tuple(value.shape), value)
            return
        node = OnnxNode.of(proto, operands, opset)
        cls = operator_class(proto.op_type)
        built = cls.from_onnx(node) if hasattr(cls, "from_onnx") else from_attributes(cls, node)
        out = proto.output[0]
        if isinstance(built, Alias):
            self.values[out] = operands[built.index]
            return
        self._add(proto, node, built)

    def _add(self, proto: onnx.NodeProto, node: OnnxNode, op: Operator) -> None:
        variables = node.variables
        try:
            probe = op.forward(*(self.probes[v.name] for v in variables))
        except RuntimeError as exc:
            raise Unsupported(f"the operator does not fit its input shapes "
                              f"{[list(v.shape) for v in variables]}: {exc}") from None
        if probe.shape[0] != _SHAPE_PROBE_BATCH:
            raise Unsupported("the operator mixes the batch axis with the others")
        batched = variables[0].batched if node.out_batched is None else node.out_batched
        example = tuple(probe.shape[1:])
        out = proto.output[0]
        self.values[out] = Operand(out, (1,) + example if batched else example, None, batched)
        self.probes[out] = probe
        self.nodes.append(Node(out, op, tuple(v.name for v in variables), example, proto.name))
