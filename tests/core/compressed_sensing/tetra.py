"""A problem with known answers: n = 4 unit columns of a regular tetrahedron in R^3
(coherence 1/3), k = 1, magnitudes in [1, 2], and hand-made decoders
score_i = |<w_i, y>| - c, exactly representable by one ReLU layer."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.problem import Problem

VERTICES = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64).T


def config(measurement: str = "linear") -> CSConfig:
    A = VERTICES / np.sqrt(3)
    return CSConfig(n=4, m=3, k=1, low=1.0, high=2.0, measurement=measurement, matrix=A.tolist())


def problem(measurement: str = "linear") -> Problem:
    return Problem.of(config(measurement))


def abs_decoder(W: np.ndarray, c: float) -> bytes:
    """ONNX of y [1, m] -> |W y| - c, rows of W [n, m] (|z| = relu(z) + relu(-z))."""
    n = W.shape[0]
    first = np.concatenate([W, -W]).astype(np.float32)
    second = np.concatenate([np.eye(n), np.eye(n)], axis=1).astype(np.float32)
    inits = [numpy_helper.from_array(first.T.copy(), "w1"), numpy_helper.from_array(np.zeros(2 * n, np.float32), "b1"),
             numpy_helper.from_array(second.T.copy(), "w2"), numpy_helper.from_array(np.full(n, -c, np.float32), "b2")]
    nodes = [helper.make_node("Gemm", ["y", "w1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["scores"])]
    graph = helper.make_graph(nodes, "decoder", [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, W.shape[1]])],
                              [helper.make_tensor_value_info("scores", onnx.TensorProto.FLOAT, [1, n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def linear_decoder(c: float) -> bytes:
    """Correct for c in (2/3, 1): on-support |<a_i, y>| = t >= 1, off-support t/3 <= 2/3."""
    return abs_decoder(problem().A.T, c)


def sign_decoder(c: float) -> bytes:
    """For sign measurements: |<sign(a_i), y>| is 3 on the support and 1 off it."""
    return abs_decoder(np.sign(VERTICES.T), c)
