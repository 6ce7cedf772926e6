"""`load_network`: an ONNX file (plain or gzipped) or bytes -> a `Network` ready to bound."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from core.model.convert import Converter
from core.model.errors import OnnxError
from core.model.folding import fold_affine
from core.model.ir import Graph
from core.model.onnx_graph import analyse, parse_model, read_bytes


@dataclass
class Network:
    """The IR graph plus what is needed to replay the original in onnxruntime.

    `onnx_bytes` is the decompressed original and `sha256` its digest; `onnx_input_shape`
    is the declared input shape (symbolic dimensions as 1); `input_shape` and
    `output_shape` are per example (no batch axis).
    """

    graph: Graph
    onnx_bytes: bytes
    sha256: str
    input_name: str
    onnx_input_shape: tuple[int, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


def load_network(source: str | Path | bytes, dtype: torch.dtype = torch.float64) -> Network:
    """Load and convert a network; every failure is one OnnxError listing all problems.

    The graph's constants are `dtype` (float64 by default, exact for float32 weights);
    use `network.graph.to(device, dtype)` for another device or precision.
    """
    data, label = read_bytes(source)
    model = parse_model(data, label)
    info = analyse(model)
    if info.problems:
        raise OnnxError(info.problems, label)
    converter = Converter(info)
    graph = converter.run()
    if graph is None:
        raise OnnxError(converter.problems or ["the output was not produced"], label)
    graph = fold_affine(graph)
    if dtype != torch.float64:
        graph = graph.to(dtype=dtype)
    return Network(graph, data, hashlib.sha256(data).hexdigest(), graph.input_name, graph.onnx_input_shape,
                   graph.input_shape, graph.output_shape)
