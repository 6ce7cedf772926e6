"""What an operator class sees of an ONNX node while the loader builds the graph.

Each op class has `from_onnx(node: OnnxNode) -> Operator | Alias`; it reads attributes
and operands here and raises `Unsupported(reason)` for anything it cannot represent.
Variables carry their ONNX shape (symbolic dimensions set to 1) and whether their ONNX
axis 0 is the batch axis, so axis attributes can be mapped to the batch-first IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper


class Unsupported(Exception):
    """Raised by a builder: this node cannot become an IR operator (message says why)."""


@dataclass(frozen=True)
class Alias:
    """The node's output is its `index`-th input unchanged (Identity, inference Dropout)."""

    index: int = 0


@dataclass(frozen=True)
class Operand:
    """One input of a node: a constant `value`, or a variable tensor named `name` in the IR."""

    name: str
    shape: tuple[int, ...]
    value: np.ndarray | None = None
    batched: bool = False

    @property
    def is_constant(self) -> bool:
        return self.value is not None

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The IR shape of one example (the ONNX shape without its batch axis)."""
        return self.shape[1:] if self.batched else self.shape

    def ir_axis(self, axis: int) -> int:
        """The IR axis (batch = 0) of ONNX axis `axis`; the batch axis itself is refused."""
        rank = len(self.shape)
        if not -rank <= axis < rank:
            raise Unsupported(f"axis {axis} is out of range for a tensor of rank {rank}")
        axis %= rank
        if self.batched:
            if axis == 0:
                raise Unsupported("it would operate along the batch axis")
            return axis
        return axis + 1


@dataclass
class OnnxNode:
    """An ONNX node with its operands resolved. A builder may set `out_batched` when its
    output's batch axis is not simply that of its first variable input (Reshape)."""

    name: str
    op_type: str
    attrs: dict[str, Any]
    operands: list[Operand | None]
    opset: int
    out_batched: bool | None = field(default=None)

    @staticmethod
    def of(proto: onnx.NodeProto, operands: list[Operand | None], opset: int) -> "OnnxNode":
        attrs = {}
        for a in proto.attribute:
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode()
            elif isinstance(value, onnx.TensorProto):
                value = numpy_helper.to_array(value)
            elif isinstance(value, list):
                value = [v.decode() if isinstance(v, bytes) else v for v in value]
            attrs[a.name] = value
        return OnnxNode(proto.name or proto.output[0], proto.op_type, attrs, operands, opset)

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def operand(self, index: int) -> Operand | None:
        return self.operands[index] if index < len(self.operands) else None

    def constant(self, index: int, what: str) -> np.ndarray:
        """The constant value of input `index`, or Unsupported naming `what` it is."""
        op = self.operand(index)
        if op is None:
            raise Unsupported(f"{what} (input {index}) is required")
        if not op.is_constant:
            raise Unsupported(f"{what} (input {index}) must be a constant, it depends on the network input")
        return op.value

    def optional_constant(self, index: int, what: str) -> np.ndarray | None:
        return None if self.operand(index) is None else self.constant(index, what)

    def variable(self, index: int = 0) -> Operand:
        op = self.operand(index)
        if op is None or op.is_constant:
            raise Unsupported(f"input {index} must depend on the network input")
        return op

    @property
    def variables(self) -> list[Operand]:
        return [op for op in self.operands if op is not None and not op.is_constant]
