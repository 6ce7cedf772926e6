"""Export: BatchNorm folded, loadable by the engine, equal to torch in onnxruntime; and fine-tuning
reads the exported file back into the same function."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from core.model import load_network
from core.training.export import INPUT_NAME, export_onnx
from core.training.fine_tune import load_for_fine_tuning
from tests.core.training.conftest import settle_batch_norm, small_cnn


@pytest.fixture(scope="module")
def exported():
    model = small_cnn(0)
    settle_batch_norm(model)
    inputs = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return model, inputs, export_onnx(model, (1, 8, 8), inputs)


def test_exported_network_has_no_batch_norm_and_matches_torch_in_onnxruntime(exported):
    model, inputs, data = exported
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Relu") == 2
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    model.eval()
    for x in inputs:
        (y,) = session.run(None, {INPUT_NAME: x[None].numpy()})
        assert np.allclose(y, model(x[None]).detach().numpy(), atol=1e-5)


def test_export_restores_training_mode():
    model = small_cnn(2)
    model.train()
    export_onnx(model, (1, 8, 8), torch.rand(2, 1, 8, 8))
    assert model.training


def test_engine_loads_the_export_and_fine_tuning_reproduces_it(exported):
    model, inputs, data = exported
    network = load_network(data)
    assert network.graph.input_shape == (1, 8, 8)
    model.eval()
    reference = model(inputs).detach().double()
    assert torch.allclose(network.graph.forward(inputs.double()), reference, atol=1e-5)
    tuned, shape = load_for_fine_tuning(data)
    assert shape == (1, 8, 8)
    assert torch.allclose(tuned(inputs).detach().double(), reference, atol=1e-5)
    assert sum(p.numel() for p in tuned.parameters()) > 0


def test_fine_tuning_names_what_it_cannot_train():
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"])], "g", [x], [y])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    with pytest.raises(ValueError, match="no trainable torch layer"):
        load_for_fine_tuning(data)
