"""A cheap, torch-free description of an ONNX upload (the API validates with it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import onnx

from core.model.onnx_graph import analyse, declared_shape, parse_model, read_bytes


@dataclass
class OnnxSummary:
    """Inputs and outputs as {name, shape}, operator counts, parameter count, opset, and
    `unsupported`: every problem the loader would reject (same wording as OnnxError)."""

    inputs: list[dict]
    outputs: list[dict]
    operators: dict[str, int]
    n_params: int
    opset: int
    unsupported: list[str]


def summarize_onnx(data: bytes) -> OnnxSummary:
    """Summarise ONNX bytes, gzipped or not; raises OnnxError when they are not a model."""
    model = parse_model(*read_bytes(data))
    info = analyse(model)
    graph = model.graph
    return OnnxSummary(
        inputs=[{"name": i.name, "shape": list(declared_shape(i))}
                for i in graph.input if i.name not in info.initializers],
        outputs=[{"name": o.name, "shape": list(declared_shape(o))} for o in graph.output],
        operators=dict(Counter(n.op_type for n in graph.node)),
        n_params=sum(_numel(t) for t in graph.initializer),
        opset=info.opset,
        unsupported=info.problems,
    )


def _numel(tensor: onnx.TensorProto) -> int:
    n = 1
    for d in tensor.dims:
        n *= d
    return n
