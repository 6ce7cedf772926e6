"""The inspect kind: load a model with the engine's ONNX front end and describe its graph."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

from core.result import Progress
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    """Load the model with the engine's ONNX front end and describe the graph it built."""
    from core.model import load_network
    started = time.monotonic()
    context.progress(Progress(phase="loading"))
    network = load_network(context.model_bytes())
    graph = network.graph
    layers = Counter(type(node.op).__name__ for node in graph.nodes)
    elapsed = time.monotonic() - started
    context.progress(Progress(phase="done", elapsed_s=elapsed))
    return Outcome(verdict=None, result={"sha256": network.sha256, "input_shape": list(graph.input_shape),
                                         "output_shape": list(graph.output_shape), "nodes": len(graph.nodes),
                                         "layers": dict(layers), "load_s": elapsed})
