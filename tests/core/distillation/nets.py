"""Small teacher / student ONNX networks for the distillation tests (float32, onnx.helper)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def mlp(widths: list[int], seed: int, input_shape: tuple[int, ...] = (1, 1, 4, 4), activation: str = "Relu",
        scale: float = 1.0) -> bytes:
    """Flatten, then Gemm layers of `widths` (the last one the logits) with `activation` between."""
    g = np.random.default_rng(seed)
    nodes = [helper.make_node("Flatten", ["x"], ["h0"])]
    inits, current, fan_in = [], "h0", int(np.prod(input_shape[1:]))
    for k, width in enumerate(widths):
        w = (scale * g.normal(size=(width, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{k}"),
                  numpy_helper.from_array((0.1 * g.normal(size=width)).astype(np.float32), f"b{k}")]
        last = k == len(widths) - 1
        out = "y" if last else f"z{k}"
        nodes.append(helper.make_node("Gemm", [current, f"W{k}", f"b{k}"], [out], transB=1))
        if not last:
            nodes.append(helper.make_node(activation, [out], [f"h{k + 1}"]))
            current = f"h{k + 1}"
        fan_in = width
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, widths[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()
