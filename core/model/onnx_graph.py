"""Reading ONNX bytes and checking a graph's structure, without torch.

Both the loader and the API's upload check use this, so an upload is accepted exactly
when the engine can load it (apart from per-node shape rules the loader adds).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from core.gunzip import MAX_ONNX_BYTES, GunzipError, gunzip_once, is_gzip
from core.model.errors import OnnxError, node_label
from core.model.registry import OPERATORS
from core.model.tensors import tensor_problems

MIN_OPSET = 7  # older opsets broadcast through an attribute the IR does not model
MAX_OPSET = onnx.defs.onnx_opset_version()
# Nodes whose result is known from shapes alone, even though they read the input.
SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})


def read_bytes(source: str | Path | bytes, limit: int = MAX_ONNX_BYTES) -> tuple[bytes, str]:
    """The ONNX bytes of a path (plain or .gz) or raw bytes, and a label; gzip is
    inflated once, to at most `limit` bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "ONNX bytes"
    else:
        path = Path(source)
        label = f"ONNX file '{path}'"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise OnnxError(f"cannot read the file: {exc.strerror or exc}", label) from None
    if is_gzip(data):
        try:
            data = gunzip_once(data, limit)
        except GunzipError as exc:
            raise OnnxError(str(exc), label) from None
    return data, label


def parse_model(data: bytes, label: str = "ONNX bytes") -> onnx.ModelProto:
    """Parse protobuf bytes; anything that is not a model with a graph, and any tensor kept
    in an external file or holding NaN/inf (`tensors.tensor_problems`), is an OnnxError.
    Every reader of ONNX bytes (upload check, loader, certificate checker, onnxruntime
    replay) parses through here, so none of them can follow external data."""
    if not data:
        raise OnnxError("empty input", label)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OnnxError(f"not a valid ONNX protobuf (truncated or corrupt?): {exc}", label) from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxError("the model has no graph nodes (truncated or not an ONNX model?)", label)
    problems = tensor_problems(model)
    if problems:
        raise OnnxError(problems, label)
    return model


@dataclass
class GraphInfo:
    """What the structure check found. `order` is the nodes topologically sorted;
    `variable` names every tensor that depends on the network input."""

    opset: int
    input: onnx.ValueInfoProto | None
    output: onnx.ValueInfoProto | None
    order: list[onnx.NodeProto]
    initializers: dict[str, onnx.TensorProto]
    variable: set[str]
    problems: list[str] = field(default_factory=list)


def default_opset(model: onnx.ModelProto) -> tuple[int, list[str]]:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        return 0, ["the model imports no version of the default ONNX operator set"]
    opset = max(versions)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        return opset, [f"opset {opset} is not supported (supported: {MIN_OPSET} to {MAX_OPSET})"]
    return opset, []


def _sort(nodes: list[onnx.NodeProto], available: set[str]) -> tuple[list[onnx.NodeProto], list[str]]:
    """Kahn's algorithm; returns the order, a problem per missing input and per node
    that is never ready (a cycle). A missing input is reported, then ignored for ordering."""
    producers = {out: i for i, n in enumerate(nodes) for out in n.output if out}
    problems: list[str] = []
    waiting: list[set[str]] = []
    users: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        needed = set()
        for name in node.input:
            if not name or name in available:
                continue
            if name in producers:
                needed.add(name)
                users.setdefault(name, []).append(i)
            else:
                problems.append(f"{node_label(node.name, node.op_type)}: input '{name}' is missing "
                                "(no initializer, graph input or node produces it)")
        waiting.append(needed)
    ready = [i for i, need in enumerate(waiting) if not need]
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)  # the file's own order wherever it is already valid
        order.append(i)
        for out in nodes[i].output:
            for j in users.get(out, []):
                if out in waiting[j]:
                    waiting[j].discard(out)
                    if not waiting[j]:
                        heapq.heappush(ready, j)
    done = set(order)
    problems += [f"{node_label(n.name, n.op_type)}: part of a cycle, or depends on one"
                 for i, n in enumerate(nodes) if i not in done]
    return [nodes[i] for i in order], problems


def analyse(model: onnx.ModelProto) -> GraphInfo:
    """Check opset, inputs, outputs, references, cycles and operator support.

    Every problem found is collected; none is raised here.
    """
    graph = model.graph
    opset, problems = default_opset(model)
    initializers = {t.name: t for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        problems.append(f"the network must have exactly one input, it has {len(inputs)}: "
                        f"{[i.name for i in inputs]}")
    if len(graph.output) != 1:
        problems.append(f"the network must have exactly one output, it has {len(graph.output)}")
    available = set(initializers) | {i.name for i in graph.input}
    order, sort_problems = _sort(list(graph.node), available)
    problems += sort_problems
    variable = {inputs[0].name} if inputs else set()
    for node in order:
        reads_input = any(name in variable for name in node.input)
        label = node_label(node.name, node.op_type)
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"{label}: operator domain '{node.domain}' is not supported")
        elif reads_input and node.op_type not in SHAPE_ONLY_OPS:
            variable.update(o for o in node.output if o)
            if node.op_type not in OPERATORS:
                problems.append(f"{label}: unsupported operator")
    if graph.output and inputs and graph.output[0].name not in variable:
        problems.append(f"the output '{graph.output[0].name}' does not depend on the input")
    return GraphInfo(opset, inputs[0] if inputs else None, graph.output[0] if graph.output else None,
                     order, initializers, variable, problems)


def declared_shape(info: onnx.ValueInfoProto) -> tuple[int | str, ...]:
    """The declared shape; symbolic or unknown dimensions are their name (or '?')."""
    dims = info.type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims)
