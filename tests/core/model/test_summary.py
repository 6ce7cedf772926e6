"""summarize_onnx: torch-free, cheap, and it reports the same problems the loader would."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pytest
from onnx import helper

from core.model import OnnxError, load_network
from core.model.summary import summarize_onnx
from tests.core.model.onnx_models import model


def test_acasxu_summary(benchmarks_dir):
    data = gzip.decompress((benchmarks_dir / "acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz").read_bytes())
    s = summarize_onnx(data)
    assert s.inputs == [{"name": "input", "shape": [1, 1, 1, 5]}] and s.outputs[0]["shape"] == [1, 5]
    assert s.operators == {"Sub": 1, "Flatten": 1, "MatMul": 7, "Add": 7, "Relu": 6}
    assert s.n_params == 5 * 50 + 5 * 50 * 50 + 50 * 5 + 6 * 50 + 5 + 5  # weights, biases, the Sub constant
    assert s.opset == 8 and s.unsupported == []


def test_gzipped_bytes_are_summarised_too(bundled_benchmarks):
    packed = (bundled_benchmarks / "mlp/onnx/relu5.onnx.gz").read_bytes()
    assert summarize_onnx(packed) == summarize_onnx(gzip.decompress(packed))


def test_symbolic_batch_is_reported_by_name(benchmarks_dir):
    data = gzip.decompress((benchmarks_dir / "rl_benchmarks/onnx/dubinsrejoin.onnx.gz").read_bytes())
    assert summarize_onnx(data).inputs[0]["shape"] == ["unk__6", 8]


def test_unsupported_matches_the_loader_wording():
    nodes = [helper.make_node("LSTM", ["x", "w", "r"], ["a"], name="lstm_1", hidden_size=2),
             helper.make_node("Softsign", ["a"], ["y"], name="soft")]
    data = model(nodes, [1, 1, 3])
    problems = summarize_onnx(data).unsupported
    assert problems[:1] == ["node 'lstm_1' (LSTM): input 'w' is missing (no initializer, graph input or node "
                            "produces it)"]
    assert "node 'soft' (Softsign): unsupported operator" in problems
    with pytest.raises(OnnxError) as err:
        load_network(data)
    assert err.value.problems == problems


def test_malformed_bytes_raise_onnx_error():
    with pytest.raises(OnnxError, match="not a valid ONNX protobuf"):
        summarize_onnx(b"\x08\x07garbage" * 10)


def test_summary_does_not_import_torch(bundled_benchmarks):
    path = bundled_benchmarks / "mlp/onnx/relu5.onnx.gz"
    code = ("import gzip, sys; from core.model.summary import summarize_onnx; "
            f"s = summarize_onnx(gzip.decompress(open({str(path)!r}, 'rb').read())); "
            "assert s.unsupported == [] and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
