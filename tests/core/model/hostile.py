"""ONNX models built to attack the readers: weights in external files, NaN/inf weights.

Each is y = relu(x @ W) on x [1, 2] with W [2, 2] stored somewhere different: as an
initializer, as a Constant node's tensor, inside an If node's branch, as a sparse
initializer. Torch-free, so the API tests use them too.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import SparseTensorProto, TensorProto, helper, numpy_helper

SECRET = np.array([1.5, -2.0, 3.25, 4.0], dtype=np.float32)  # a "file on the worker"


def external(name: str, location: str, dims: tuple[int, ...] = (2, 2), data_type: int = TensorProto.FLOAT) -> TensorProto:
    """A tensor whose bytes the file `location` (relative to the reader's directory) holds."""
    tensor = TensorProto(name=name, data_type=data_type, dims=list(dims), data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * math.prod(dims)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def weights(values, name: str = "W") -> TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32).reshape(2, 2), name)


def _model(nodes, initializers=(), sparse=()) -> bytes:
    graph = helper.make_graph(nodes, "hostile", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], list(initializers),
                              sparse_initializer=list(sparse))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model.SerializeToString()


_TAIL = [helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"), helper.make_node("Relu", ["h"], ["y"], name="relu")]


def as_initializer(w: TensorProto) -> bytes:
    return _model(_TAIL, [w])


def as_constant(w: TensorProto) -> bytes:
    """W is the output of a Constant node whose `value` is `w`."""
    return _model([helper.make_node("Constant", [], ["W"], name="weights", value=w), *_TAIL])


def as_constant_float(value: float) -> bytes:
    """y = relu(x * s) with s a Constant's `value_float`."""
    nodes = [helper.make_node("Constant", [], ["s"], name="scale", value_float=value),
             helper.make_node("Mul", ["x", "s"], ["h"], name="mul"), helper.make_node("Relu", ["h"], ["y"], name="relu")]
    return _model(nodes)


def in_if_branch(w: TensorProto) -> bytes:
    """W comes out of an If node whose then-branch holds `w` as an initializer."""
    out = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 2])]
    then = helper.make_graph([helper.make_node("Identity", [w.name], ["out"])], "then", [], out, [w])
    zeros = numpy_helper.from_array(np.zeros((2, 2), np.float32), "zeros")
    other = helper.make_graph([helper.make_node("Identity", ["zeros"], ["out"])], "else", [], out, [zeros])
    cond = numpy_helper.from_array(np.array(True), "cond")
    branch = helper.make_node("If", ["cond"], ["W"], name="choose", then_branch=then, else_branch=other)
    return _model([branch, *_TAIL], [cond])


def as_sparse_initializer(values: TensorProto) -> bytes:
    """W is a sparse initializer with these values at positions 0..3."""
    indices = numpy_helper.from_array(np.arange(4, dtype=np.int64), "W_indices")
    sparse = SparseTensorProto(values=values, indices=indices, dims=[2, 2])
    return _model(_TAIL, sparse=[sparse])
