"""A teacher and a student as one ONNX network on a shared input, outputs side by side.

Every question about a pair (do they agree on an ε-box? how far apart are their
confidences?) becomes a question about one network, which the verifier, the bounds and
the certificate checker already answer. Two forms, both computing [teacher logits,
student logits]:

- a chain: when both networks are dense ReLU chains with float32 weights, one chain of
  block-diagonal layers (the shallower network's logits carried through the extra layers
  as relu(z) - relu(-z), which is exact), the form the certificate checker reads;
- a graph: otherwise, both graphs unchanged side by side (names prefixed), their outputs
  concatenated; the engine bounds it, but the checker reads chains only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from core.model.errors import OnnxError

INPUT, OUTPUT = "input", "output"


class JointError(ValueError):
    """The pair cannot be combined; the message names the network and the problem."""


@dataclass(frozen=True)
class Joint:
    """The combined network's ONNX bytes; outputs [0, classes) are the teacher's logits,
    [classes, 2·classes) the student's; `chain` says whether the checker reads it."""

    onnx: bytes
    classes: int
    input_shape: tuple[int, ...]
    chain: bool


def _load(source, who: str):
    from core.model import load_network

    try:
        return load_network(source)
    except OnnxError as exc:
        raise JointError(f"the {who}: {exc}") from None


def joint_network(teacher: bytes, student: bytes) -> Joint:
    """Combine `teacher` and `student` (ONNX bytes); JointError when their inputs differ or
    their outputs are not logits of the same number of classes."""
    nets = {"teacher": _load(teacher, "teacher"), "student": _load(student, "student")}
    for who, net in nets.items():
        if len(net.output_shape) != 1 or net.output_shape[0] < 2:
            raise JointError(f"the {who} outputs shape {list(net.output_shape)}; expected logits [classes]")
    t, s = nets["teacher"], nets["student"]
    if t.input_shape != s.input_shape:
        raise JointError(f"the teacher takes inputs {list(t.input_shape)}, the student {list(s.input_shape)}")
    if t.output_shape != s.output_shape:
        raise JointError(f"the teacher has {t.output_shape[0]} classes, the student {s.output_shape[0]}")
    layers = [_dense_layers(n.graph) for n in (t, s)]
    if None not in layers:
        data, chain = _chain(*layers, t.onnx_input_shape), True
    else:
        data, chain = _side_by_side(t.onnx_bytes, s.onnx_bytes), False
    return Joint(data, t.output_shape[0], t.input_shape, chain)


def _dense_layers(graph) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(W [out, in], b [out]) per Linear of a chain Reshape* (Linear Relu)* Linear on flat
    features whose constants are float32 exactly; None for anything else."""
    from core.model.ops.linear import Linear
    from core.model.ops.relu import Relu
    from core.model.ops.reshape import Reshape

    layers, previous, expect_linear = [], graph.input_name, True
    for node in graph.nodes:
        if node.inputs != (previous,):
            return None
        previous = node.name
        if isinstance(node.op, Reshape) and not layers:
            continue
        if expect_linear and isinstance(node.op, Linear) and len(node.shape) == 1:
            w = node.op.weight.detach().cpu().numpy()
            b = np.zeros(w.shape[0]) if node.op.bias is None else node.op.bias.detach().cpu().numpy()
            if not all(np.array_equal(a.astype(np.float32).astype(a.dtype), a) for a in (w, b)):
                return None
            layers.append((w, b))
        elif not (not expect_linear and isinstance(node.op, Relu)):
            return None
        expect_linear = not expect_linear
    return layers if layers and not expect_linear and previous == graph.output_name else None


def _deepened(layers: list, depth: int) -> list:
    """The same function with `depth` Linear layers: the logits z leave as [z; -z], pass the
    extra ReLUs unchanged (they are >= 0), and come back as relu(z) - relu(-z) = z."""
    extra = depth - len(layers)
    if extra == 0:
        return layers
    w, b = layers[-1]
    k = w.shape[0]
    eye = np.eye(2 * k)
    return [*layers[:-1], (np.vstack([w, -w]), np.concatenate([b, -b])),
            *[(eye, np.zeros(2 * k))] * (extra - 1), (np.hstack([np.eye(k), -np.eye(k)]), np.zeros(k))]


def _block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0] + b.shape[0], a.shape[1] + b.shape[1]))
    out[:a.shape[0], :a.shape[1]], out[a.shape[0]:, a.shape[1]:] = a, b
    return out


def _chain(teacher: list, student: list, input_shape: tuple[int, ...]) -> bytes:
    depth = max(len(teacher), len(student))
    teacher, student = _deepened(teacher, depth), _deepened(student, depth)
    nodes = [helper.make_node("Reshape", [INPUT, "flat_shape"], ["flat"])]
    inits = [numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape")]
    current = "flat"
    for k, ((wt, bt), (ws, bs)) in enumerate(zip(teacher, student)):
        first = k == 0
        w = np.vstack([wt, ws]) if first else _block(wt, ws)  # the first layer reads the shared input
        inits += [numpy_helper.from_array(w.astype(np.float32), f"W{k}"),
                  numpy_helper.from_array(np.concatenate([bt, bs]).astype(np.float32), f"b{k}")]
        out = OUTPUT if k == depth - 1 else f"z{k}"
        nodes.append(helper.make_node("Gemm", [current, f"W{k}", f"b{k}"], [out], transB=1))
        if k < depth - 1:
            nodes.append(helper.make_node("Relu", [out], [f"r{k}"]))
            current = f"r{k}"
    classes = teacher[-1][0].shape[0]
    graph = helper.make_graph(nodes, "teacher_student", [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT,
                                                                                       list(input_shape))],
                              [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [1, 2 * classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _side_by_side(teacher: bytes, student: bytes) -> bytes:
    """Both graphs, names prefixed "teacher/" and "student/", reading one input, their
    outputs concatenated along the last axis (the teacher's opset, or the student's if newer)."""
    models = [onnx.load_model_from_string(teacher), onnx.load_model_from_string(student)]
    opset = max(_opset(m) for m in models)
    graph_parts, first_input = [], None
    for who, m in zip(("teacher", "student"), models):
        if _opset(m) != opset:
            try:
                m = onnx.version_converter.convert_version(m, opset)
            except Exception as exc:  # the converter raises many kinds; the user needs the one line
                raise JointError(f"the {who}'s opset {_opset(m)} cannot be raised to {opset}: {exc}") from None
        inits = {t.name for t in m.graph.initializer}
        x = [i for i in m.graph.input if i.name not in inits][0]
        first_input = first_input or x
        m = onnx.compose.add_prefix(m, f"{who}/")
        for node in m.graph.node:
            node.input[:] = [INPUT if name == f"{who}/{x.name}" else name for name in node.input]
        graph_parts.append(m.graph)
    shared = onnx.ValueInfoProto()
    shared.CopyFrom(first_input)
    shared.name = INPUT
    concat = helper.make_node("Concat", [g.output[0].name for g in graph_parts], [OUTPUT], axis=-1)
    graph = helper.make_graph([n for g in graph_parts for n in g.node] + [concat], "teacher_student", [shared],
                              [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, None)],
                              [t for g in graph_parts for t in g.initializer])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = max(m.ir_version for m in models)
    return model.SerializeToString()


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
