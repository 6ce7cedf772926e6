"""Evaluating the parts of a network that do not depend on its input, at load time."""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from core.model.onnx_node import Operand, Unsupported


def evaluate(node: onnx.NodeProto, operands: list[Operand | None], opset: int) -> list[np.ndarray]:
    """Run one node whose inputs are all constants with onnx's reference evaluator."""
    feeds = {op.name: op.value for op in operands if op is not None}
    try:
        return list(ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds))
    except Exception as exc:  # noqa: BLE001 - the evaluator raises anything; report it as the node's problem
        raise Unsupported(f"could not evaluate this constant node: {type(exc).__name__}: {exc}") from None


def shape_of(node: onnx.NodeProto, x: Operand) -> np.ndarray:
    """Shape / Size of a variable: known from its (batch size 1) ONNX shape."""
    shape = np.array(x.shape, dtype=np.int64)
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    attrs = {a.name: a.i for a in node.attribute}
    return shape[attrs.get("start", 0):attrs.get("end", len(shape)) or None] if "end" in attrs \
        else shape[attrs.get("start", 0):]
