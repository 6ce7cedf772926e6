"""Small ONNX networks of the three shapes the brancher's graph must handle: fully
connected, convolutional and residual (float32, onnx.helper)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from core.model import load_network


def _model(nodes, inits: dict[str, np.ndarray], x_shape: list[int], y_shape: list[int]):
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                              [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return load_network(model.SerializeToString())


def fc(seed: int = 0):
    """8 -> 12 -> ReLU -> 10 -> ReLU -> 3."""
    g = np.random.default_rng(seed)
    inits = {"W0": g.normal(size=(12, 8)) / 3, "b0": g.normal(size=12) / 3, "W1": g.normal(size=(10, 12)) / 3,
             "b1": g.normal(size=10) / 3, "W2": g.normal(size=(3, 10)) / 3, "b2": g.normal(size=3) / 3}
    nodes = [helper.make_node("Gemm", ["x", "W0", "b0"], ["z0"], transB=1), helper.make_node("Relu", ["z0"], ["h0"]),
             helper.make_node("Gemm", ["h0", "W1", "b1"], ["z1"], transB=1), helper.make_node("Relu", ["z1"], ["h1"]),
             helper.make_node("Gemm", ["h1", "W2", "b2"], ["y"], transB=1)]
    return _model(nodes, inits, [1, 8], [1, 3])


def conv(seed: int = 0):
    """[1, 8, 8] -> Conv 2x3x3 -> ReLU -> Flatten -> 3."""
    g = np.random.default_rng(seed)
    inits = {"K": g.normal(size=(2, 1, 3, 3)) / 3, "kb": g.normal(size=2) / 3, "W": g.normal(size=(3, 72)) / 8,
             "b": g.normal(size=3) / 3}
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"]), helper.make_node("Relu", ["c"], ["h"]),
             helper.make_node("Flatten", ["h"], ["f"]), helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    return _model(nodes, inits, [1, 1, 8, 8], [1, 3])


def residual(seed: int = 0):
    """8 -> 10 -> ReLU -> (10 + itself) -> ReLU -> 3: the second ReLU reads W1 h0 + b1 + h0."""
    g = np.random.default_rng(seed)
    inits = {"W0": g.normal(size=(10, 8)) / 3, "b0": g.normal(size=10) / 3, "W1": g.normal(size=(10, 10)) / 3,
             "b1": g.normal(size=10) / 3, "W2": g.normal(size=(3, 10)) / 3, "b2": g.normal(size=3) / 3}
    nodes = [helper.make_node("Gemm", ["x", "W0", "b0"], ["z0"], transB=1), helper.make_node("Relu", ["z0"], ["h0"]),
             helper.make_node("Gemm", ["h0", "W1", "b1"], ["z1"], transB=1), helper.make_node("Add", ["z1", "h0"], ["s"]),
             helper.make_node("Relu", ["s"], ["h1"]), helper.make_node("Gemm", ["h1", "W2", "b2"], ["y"], transB=1)]
    return _model(nodes, inits, [1, 8], [1, 3])


NETS = {"fc": fc, "conv": conv, "residual": residual}
