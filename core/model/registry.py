"""ONNX op type -> operator class, in one table.

The table names classes by import path so that it can be read without importing torch
(the API process checks uploads against it). Adding an operator: write its class in
`core/model/ops/<name>.py`, add a row here, add `tests/core/model/ops/test_<name>.py`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.model.operator import Operator

# op type -> "module:Class"
OPERATORS: dict[str, str] = {
    "LeakyRelu": "core.model.ops.leaky_relu:LeakyRelu",
    "MaxPool": "core.model.ops.max_pool:MaxPool",
    "Relu": "core.model.ops.relu:Relu",
    "Sigmoid": "core.model.ops.sigmoid:Sigmoid",
    "Tanh": "core.model.ops.tanh:Tanh",
    "Softmax": "core.model.ops.softmax:Softmax",
    "Gemm": "core.model.ops.linear:Linear",
    "MatMul": "core.model.ops.linear:Linear",
    "Conv": "core.model.ops.conv:Conv",
    "AveragePool": "core.model.ops.average_pool:AveragePool",
    "Add": "core.model.ops.add:Add",
    "Sub": "core.model.ops.add:Add",
    "Mul": "core.model.ops.scale_shift:ScaleShift",
    "Div": "core.model.ops.scale_shift:ScaleShift",
    "BatchNormalization": "core.model.ops.scale_shift:ScaleShift",
    "Reshape": "core.model.ops.reshape:Reshape",
    "Flatten": "core.model.ops.reshape:Reshape",
    "Squeeze": "core.model.ops.reshape:Reshape",
    "Unsqueeze": "core.model.ops.reshape:Reshape",
    "Transpose": "core.model.ops.transpose:Transpose",
    "Concat": "core.model.ops.concat:Concat",
    "Slice": "core.model.ops.slice:Slice",
    "Gather": "core.model.ops.gather:Gather",
    "Pad": "core.model.ops.pad:Pad",
    "Identity": "core.model.ops.identity:Identity",
    "Dropout": "core.model.ops.identity:Identity",
}


def supported_ops() -> list[str]:
    return sorted(OPERATORS)


def operator_class(op_type: str) -> "type[Operator]":
    module, _, name = OPERATORS[op_type].partition(":")
    return getattr(importlib.import_module(module), name)
