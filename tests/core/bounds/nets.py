"""Small random ONNX networks for the bounding tests, loaded through the real front end."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from core.model import load_network
from core.model.ir import Graph

ACTIVATIONS = ("Relu", "LeakyRelu", "Sigmoid", "Tanh")


class _Builder:
    def __init__(self, seed: int, activation: str):
        self.rng = np.random.default_rng(seed)
        self.activation = activation
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, array: np.ndarray) -> str:
        name = self.name("w")
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def gemm(self, x: str, n_in: int, n_out: int) -> str:
        w = self.rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in))
        b = self.rng.normal(0, 0.3, n_out)
        out = self.name("gemm")
        self.nodes.append(helper.make_node("Gemm", [x, self.const(w), self.const(b)], [out], transB=1))
        return out

    def conv(self, x: str, c_in: int, c_out: int) -> str:
        w = self.rng.normal(0, 1 / np.sqrt(9 * c_in), (c_out, c_in, 3, 3))
        out = self.name("conv")
        self.nodes.append(helper.make_node("Conv", [x, self.const(w), self.const(self.rng.normal(0, 0.3, c_out))],
                                           [out], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        return out

    def act(self, x: str) -> str:
        out = self.name("act")
        attrs = {"alpha": 0.1} if self.activation == "LeakyRelu" else {}
        self.nodes.append(helper.make_node(self.activation, [x], [out], **attrs))
        return out

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def model(self, input_shape: list[int], output: str, n_out: int) -> bytes:
        graph = helper.make_graph(self.nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, n_out])], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def fc_net(seed: int, n_in: int, widths: list[int], n_out: int, activation: str = "Relu") -> bytes:
    """x [1, n_in] -> (Gemm, activation) per width -> Gemm -> [1, n_out]."""
    b = _Builder(seed, activation)
    x, size = "x", n_in
    for w in widths:
        x, size = b.act(b.gemm(x, size, w)), w
    return b.model([1, n_in], b.gemm(x, size, n_out), n_out)


def chained_net(seed: int, n_in: int, chains: list[list[int]], n_out: int) -> bytes:
    """Like `fc_net`, but each hidden layer is a chain of Gemms (widths in order) before
    its ReLU, as tllverifybench's networks are: [[8, 30, 20], [12, 16]] is x -> 8 -> 30
    -> 20 -> ReLU -> 12 -> 16 -> ReLU -> n_out."""
    b = _Builder(seed, "Relu")
    x, size = "x", n_in
    for chain in chains:
        for w in chain:
            x, size = b.gemm(x, size, w), w
        x = b.act(x)
    return b.model([1, n_in], b.gemm(x, size, n_out), n_out)


def residual_net(seed: int, n_in: int, width: int, n_out: int, activation: str = "Relu") -> bytes:
    """h = act(Gemm x); r = act(Gemm(act(Gemm h)) + h); out = Gemm r: a DAG with a skip connection."""
    b = _Builder(seed, activation)
    h = b.act(b.gemm("x", n_in, width))
    inner = b.gemm(b.act(b.gemm(h, width, width)), width, width)
    r = b.act(b.op("Add", [inner, h]))
    return b.model([1, n_in], b.gemm(r, width, n_out), n_out)


def conv_net(seed: int, channels: int, n_out: int, activation: str = "Relu", pool: bool = False) -> bytes:
    """x [1, 1, 6, 6] -> Conv 3x3 -> act -> (MaxPool 2x2) -> Flatten -> Gemm -> act -> Gemm."""
    b = _Builder(seed, activation)
    x = b.act(b.conv("x", 1, channels))
    side = 6
    if pool:
        x, side = b.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2]), 3
    x = b.op("Flatten", [x], axis=1)
    hidden = b.act(b.gemm(x, channels * side * side, 8))
    return b.model([1, 1, 6, 6], b.gemm(hidden, 8, n_out), n_out)


def load(model: bytes) -> Graph:
    return load_network(model).graph
