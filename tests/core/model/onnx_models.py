"""Test helpers: build small ONNX models with onnx.helper and replay them in onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

# onnxruntime's CPU kernels for these run in float32 only.
FLOAT32_ONLY = {"Conv", "AveragePool"}


def model(nodes: list[onnx.NodeProto], x_shape: list, constants: dict[str, np.ndarray] | None = None,
          opset: int = 17, double: bool = True, output: str = "y") -> bytes:
    """A model with one input 'x' of `x_shape`, initializers `constants`, output `output`."""
    elem = TensorProto.DOUBLE if double else TensorProto.FLOAT
    dtype = np.float64 if double else np.float32
    inits = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k)
             for k, v in (constants or {}).items()]
    graph = helper.make_graph(nodes, "test", [helper.make_tensor_value_info("x", elem, x_shape)],
                              [helper.make_tensor_value_info(output, elem, None)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 9)
    return m.SerializeToString()


def single(op_type: str, x_shape: list, constants: dict[str, np.ndarray] | None = None,
           inputs: list[str] | None = None, opset: int = 17, **attrs) -> bytes:
    """One node `op_type(x, *constants) -> y` (inputs in `inputs` order when given)."""
    names = inputs if inputs is not None else ["x", *(constants or {})]
    double = op_type not in FLOAT32_ONLY
    return model([helper.make_node(op_type, names, ["y"], **attrs)], x_shape, constants, opset, double)


def as_double(data: bytes) -> bytes:
    """The same network with every float32 tensor, type and Cast made float64."""
    m = onnx.load_model_from_string(data)
    f, d = TensorProto.FLOAT, TensorProto.DOUBLE

    def cast(t: onnx.TensorProto) -> None:
        if t.data_type == f:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))

    for t in m.graph.initializer:
        cast(t)
    for node in m.graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                cast(a.t)
            if node.op_type == "Cast" and a.name == "to" and a.i == f:
                a.i = d
    for v in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        if v.type.tensor_type.elem_type == f:
            v.type.tensor_type.elem_type = d
    return m.SerializeToString()


def run_ort(data: bytes, x: torch.Tensor, input_name: str, onnx_input_shape: tuple) -> np.ndarray:
    """onnxruntime's outputs for each example of x [batch, ...], flattened: [batch, n_out]."""
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    elem = session.get_inputs()[0].type
    dtype = np.float64 if "double" in elem else np.float32
    outs = [session.run(None, {input_name: x[i].numpy().astype(dtype).reshape(onnx_input_shape)})[0]
            for i in range(x.shape[0])]
    return np.stack([o.astype(np.float64).reshape(-1) for o in outs])
