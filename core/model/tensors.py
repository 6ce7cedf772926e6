"""Refusing weights certbound must not read: external data and NaN or infinite values.

An ONNX tensor may say its bytes live in another file (`data_location = EXTERNAL`);
following that on the worker would read any file it can open and hand it back as
weights. NaN or infinite weights make every bound meaningless. Both are checked on
every tensor a model holds: initializers, sparse initializers, tensor attributes of any
node (Constant and others), and the graphs nested in attributes, functions and training
info, however deep.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, NodeProto, TensorProto, numpy_helper

from core.model.errors import node_label

_CHUNK = 1 << 20  # elements checked at a time, so the check needs no copy of a large tensor
_RAW = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.FLOAT16: np.float16,
        TensorProto.COMPLEX64: np.complex64, TensorProto.COMPLEX128: np.complex128}
_FLOATS = {v for k, v in TensorProto.DataType.items() if k.startswith(("FLOAT", "BFLOAT", "COMPLEX")) or k == "DOUBLE"}


def tensor_problems(model: onnx.ModelProto) -> list[str]:
    """One message per tensor stored outside the model or holding NaN/inf (empty: all fine)."""
    problems: list[str] = []
    for where, tensor in _tensors(model):
        label = f"tensor '{tensor.name}' ({where})" if tensor.name else f"the tensor of {where}"
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            problems.append(f"{label} keeps its data in an external file ({location!r}); certbound reads "
                            "weights only from the model's own bytes, so save the model with its data inside")
        elif tensor.data_type in _FLOATS and not _finite(tensor):
            problems.append(f"{label} holds NaN or infinite values")
    for where, node in _nodes(model):
        if node.op_type == "Constant":
            values = [v for a in node.attribute if a.name in ("value_float", "value_floats")
                      for v in ([a.f] if a.type == AttributeProto.FLOAT else a.floats)]
            if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
                problems.append(f"{where}{node_label(node.name, node.op_type)} holds NaN or infinite values")
    return problems


def _graphs(model: onnx.ModelProto) -> Iterator[tuple[str, GraphProto]]:
    yield "", model.graph
    for info in model.training_info:
        yield "training info > ", info.initialization
        yield "training info > ", info.algorithm


def _nodes(model: onnx.ModelProto) -> Iterator[tuple[str, NodeProto]]:
    """Every node with a prefix saying where it sits, subgraphs included (iteratively, so
    a deeply nested model cannot exhaust the stack)."""
    pending: list[tuple[str, NodeProto]] = []
    for prefix, graph in _graphs(model):
        pending += [(prefix, n) for n in graph.node]
    for function in model.functions:
        pending += [(f"function '{function.name}' > ", n) for n in function.node]
    while pending:
        prefix, node = pending.pop()
        yield prefix, node
        for attribute in node.attribute:
            inner = f"{prefix}{node_label(node.name, node.op_type)} attribute '{attribute.name}' > "
            for graph in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                pending += [(inner, n) for n in graph.node]


def _tensors(model: onnx.ModelProto) -> Iterator[tuple[str, TensorProto]]:
    """Every TensorProto in the model, with where it sits."""
    graphs = list(_graphs(model))
    for prefix, node in _nodes(model):
        label = f"{prefix}{node_label(node.name, node.op_type)} attribute"
        for attribute in node.attribute:
            where = f"{label} '{attribute.name}'"
            if attribute.HasField("t"):
                yield where, attribute.t
            yield from ((where, t) for t in attribute.tensors)
            sparse = ([attribute.sparse_tensor] if attribute.HasField("sparse_tensor") else [])
            for s in sparse + list(attribute.sparse_tensors):
                yield from ((where, t) for t in (s.values, s.indices))
            for graph in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                graphs.append((f"{where} > ", graph))
    for prefix, graph in graphs:
        yield from ((f"{prefix}initializer", t) for t in graph.initializer)
        for s in graph.sparse_initializer:
            yield from ((f"{prefix}sparse initializer", t) for t in (s.values, s.indices))


def _finite(tensor: TensorProto) -> bool:
    """No NaN or infinity among the tensor's values (raw bytes checked in place, in chunks)."""
    if tensor.HasField("raw_data") and tensor.data_type in _RAW:
        dtype = np.dtype(_RAW[tensor.data_type])
        values = np.frombuffer(tensor.raw_data, dtype=dtype, count=len(tensor.raw_data) // dtype.itemsize)
    else:
        try:
            values = numpy_helper.to_array(tensor)
        except Exception:  # noqa: BLE001 - malformed data: the loader reports it with its own words
            return True
        if values.dtype.kind not in "fc":
            values = values.astype(np.float32)  # bfloat16 and float8 (ml_dtypes) widen exactly
    values = values.reshape(-1)
    return all(np.isfinite(values[i:i + _CHUNK]).all() for i in range(0, values.size, _CHUNK))
