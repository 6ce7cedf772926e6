"""The trained network as ONNX: BatchNorm folded, checked against onnxruntime.

The eval-mode graph (BatchNorm folded with its running statistics) is turned back into
plain torch layers and exported with the TorchScript-based exporter; the file is then
loaded by the engine's own front end and replayed in onnxruntime, so a network that
leaves training is known to be one the verifier reads exactly as torch computes it.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from core.training.convert import to_graph
from core.training.fine_tune import from_graph

INPUT_NAME, OUTPUT_NAME = "input", "output"


class ExportMismatch(RuntimeError):
    """The exported ONNX does not compute what the trained network computes."""


def export_onnx(model: nn.Sequential, input_shape: tuple[int, ...], check_inputs: torch.Tensor) -> bytes:
    """ONNX bytes of `model` in eval mode for inputs [1, *input_shape]; raises ExportMismatch
    unless onnxruntime and the engine's loader both reproduce torch on `check_inputs`."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            folded = from_graph(to_graph(model, input_shape).graph).cpu()
            reference = model(check_inputs).cpu().double()
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter announces its own deprecation
            torch.onnx.export(folded, torch.zeros(1, *input_shape), buffer, dynamo=False,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=17)
    finally:
        model.train(was_training)
    data = buffer.getvalue()
    check(data, check_inputs.cpu(), reference)
    return data


def check(data: bytes, inputs: torch.Tensor, reference: torch.Tensor, tol: float = 1e-4) -> None:
    """onnxruntime (one example at a time) and `core.model.load_network` both match `reference`."""
    import onnxruntime as ort

    from core.model import load_network

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    runtime = np.concatenate([session.run(None, {INPUT_NAME: x[None].numpy().astype(np.float32)})[0]
                              for x in inputs])
    engine = load_network(data).graph.forward(inputs.double()).detach()
    scale = 1 + float(reference.abs().max())
    for who, got in (("onnxruntime", torch.as_tensor(runtime, dtype=torch.float64)), ("the engine", engine)):
        err = float((got - reference).abs().max())
        if err > tol * scale:
            raise ExportMismatch(f"{who} differs from torch by {err:.3g} on the exported network")
