"""load_network: sources, Network fields, constant folding, and one clear OnnxError for
every kind of malformed model."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from core.model import Network, OnnxError, load_network
from core.model.ops.reshape import Reshape
from tests.core.model.onnx_models import model, run_ort
from tests.core.model.ops.harness import assert_matches_onnxruntime

ACAS = "acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz"
TLL = "tllverifybench/onnx/tllBench_n=2_N=M=8_m=1_instance_0_0.onnx.gz"


def test_path_gz_bytes_and_raw_bytes_give_the_same_network(benchmarks_dir, tmp_path):
    packed = (benchmarks_dir / ACAS).read_bytes()
    raw = gzip.decompress(packed)
    plain = tmp_path / "acas.onnx"
    plain.write_bytes(raw)
    nets = [load_network(s) for s in (benchmarks_dir / ACAS, str(plain), packed, raw)]
    x = torch.rand(4, 5, dtype=torch.float64)
    for net in nets:
        assert isinstance(net, Network) and net.onnx_bytes == raw and net.sha256 == nets[0].sha256
        assert torch.equal(net.graph.forward(x), nets[0].graph.forward(x))
    assert (nets[0].input_name, nets[0].onnx_input_shape, nets[0].input_shape, nets[0].output_shape) == \
        ("input", (1, 1, 1, 5), (1, 1, 5), (5,))


def test_dynamic_batch_dimension(benchmarks_dir):
    net = load_network(benchmarks_dir / TLL)
    assert net.onnx_input_shape == (1, 2) and net.input_shape == (2,) and net.output_shape == (1,)
    assert net.graph.forward(torch.rand(7, 2, dtype=torch.float64)).shape == (7, 1)


def test_float32_and_device_agnostic_forward(benchmarks_dir):
    net = load_network(benchmarks_dir / ACAS, dtype=torch.float32)
    x = torch.rand(5, 5, dtype=torch.float32)
    reference = load_network(benchmarks_dir / ACAS).graph.forward(x.double())
    assert net.graph.forward(x).dtype == torch.float32
    torch.testing.assert_close(net.graph.forward(x).double(), reference, rtol=1e-5, atol=1e-5)


def test_pytorch_style_flatten_with_shape_arithmetic_folds_to_one_reshape():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Constant", [], ["minus1"], value=helper.make_tensor("m", TensorProto.INT64, [1], [-1])),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"]),
        helper.make_node("Add", ["two", "three"], ["five"]),
        helper.make_node("Mul", ["r", "five"], ["y"]),
    ]
    consts = {"zero": np.array(0, dtype=np.int64), "axes": np.array([0], dtype=np.int64),
              "two": np.array([2.0]), "three": np.array([3.0])}
    net = load_network(model(nodes, [1, 2, 3], consts, opset=13))
    assert [type(n.op).__name__ for n in net.graph.nodes] == ["Reshape", "ScaleShift"]
    assert isinstance(net.graph.nodes[0].op, Reshape) and net.output_shape == (6,)
    assert_matches_onnxruntime(net, torch.rand(3, 2, 3, dtype=torch.float64))


def _add_relu(opset: int = 13) -> bytes:
    nodes = [helper.make_node("Add", ["x", "c"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    return model(nodes, [1, 3], {"c": np.ones(3)}, opset=opset)


def test_truncated_bytes_and_truncated_gzip(benchmarks_dir):
    raw = gzip.decompress((benchmarks_dir / ACAS).read_bytes())
    with pytest.raises(OnnxError, match="truncated") as err:
        load_network(raw[: len(raw) // 2])
    assert "Traceback" not in str(err.value)
    with pytest.raises(OnnxError, match="corrupt or truncated gzip"):
        load_network((benchmarks_dir / ACAS).read_bytes()[:1000])
    with pytest.raises(OnnxError, match="empty input"):
        load_network(b"")
    with pytest.raises(OnnxError, match="not a valid ONNX protobuf"):
        load_network(b"\xff" * 64)


@pytest.mark.parametrize("opset", [999, 5])
def test_wrong_opset(opset):
    with pytest.raises(OnnxError, match=f"opset {opset} is not supported"):
        load_network(_add_relu(opset))


def test_missing_initializer():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    with pytest.raises(OnnxError, match=r"node 'fc' \(MatMul\): input 'w' is missing"):
        load_network(model(nodes, [1, 3]))


def test_cyclic_graph():
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second"),
             helper.make_node("Relu", ["b"], ["y"], name="third")]
    with pytest.raises(OnnxError) as err:
        load_network(model(nodes, [1, 3]))
    assert {"node 'first' (Add): part of a cycle, or depends on one",
            "node 'second' (Relu): part of a cycle, or depends on one"} <= set(err.value.problems)


def test_every_unsupported_operator_is_listed_in_one_error():
    nodes = [helper.make_node("Softsign", ["x"], ["a"], name="soft"),
             helper.make_node("Erf", ["a"], ["b"], name="erf"),
             helper.make_node("MatMul", ["b", "b"], ["c"], name="square"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    with pytest.raises(OnnxError) as err:
        load_network(model(nodes, [1, 3]))
    assert err.value.problems == ["node 'soft' (Softsign): unsupported operator",
                                  "node 'erf' (Erf): unsupported operator"]
    assert "soft" in str(err.value) and "erf" in str(err.value)


def test_every_unbuildable_node_is_listed_in_one_error():
    nodes = [helper.make_node("MatMul", ["x", "x"], ["a"], name="square"),
             helper.make_node("Relu", ["a"], ["b"], name="after_square"),
             helper.make_node("Pad", ["x", "p"], ["c"], name="reflect", mode="reflect"),
             helper.make_node("Add", ["b", "c"], ["y"])]
    with pytest.raises(OnnxError) as err:
        load_network(model(nodes, [3, 3], {"p": np.zeros(4, dtype=np.int64)}))
    assert [p.split(":")[0] for p in err.value.problems] == ["node 'square' (MatMul)", "node 'reflect' (Pad)"]


@pytest.mark.parametrize("change,message", [
    (lambda g: g.output.append(helper.make_tensor_value_info("h", TensorProto.DOUBLE, None)), "exactly one output"),
    (lambda g: g.input.append(helper.make_tensor_value_info("z", TensorProto.DOUBLE, [1])), "exactly one input"),
    (lambda g: setattr(g.node[0], "domain", "com.microsoft"), "domain 'com.microsoft'"),
])
def test_graph_shape_problems(change, message):
    import onnx

    m = onnx.load_model_from_string(_add_relu())
    change(m.graph)
    with pytest.raises(OnnxError, match=message):
        load_network(m.SerializeToString())


def test_missing_file_is_an_onnx_error(tmp_path):
    with pytest.raises(OnnxError, match="cannot read the file"):
        load_network(tmp_path / "absent.onnx")


def test_batch_mixing_operator_is_refused():
    data = model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])], ["n", 3])
    with pytest.raises(OnnxError, match="moves the batch axis"):
        load_network(data)


def test_import_core_model_does_not_import_torch():
    code = ("import sys, core.model, core.model.summary; from core.model import OnnxError, supported_ops; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_replayed_network_agrees_with_onnxruntime_at_float64(benchmarks_dir):
    net = load_network(benchmarks_dir / TLL)
    x = torch.rand(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).float().double()
    ours = net.graph.forward(x).numpy()
    # onnxruntime computes in float32: outputs near 0 differ by its rounding (up to 4e-7 on
    # 200 random points), not by a relative 1e-5
    np.testing.assert_allclose(ours, run_ort(net.onnx_bytes, x, net.input_name, net.onnx_input_shape),
                               rtol=1e-5, atol=1e-6)


def test_declared_output_shape_must_match_the_computed_one():
    import onnx

    m = onnx.load_model_from_string(_add_relu())
    m.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 1
    m.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 4
    with pytest.raises(OnnxError, match=r"declared with shape \[1, 4\], but the network computes \[1, 3\]"):
        load_network(m.SerializeToString())
