"""The checker's own ONNX reading computes what onnxruntime computes, on the shared networks."""

from __future__ import annotations

import gzip

import numpy as np
import onnxruntime as ort
import pytest

from core.certificate.network import Unsupported, chain_of, read_onnx
from core.certificate.soundness import forward

NETWORKS = [
    "acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz",
    "mnist_fc/onnx/mnist-net_256x2.onnx.gz",
    "eran/onnx/mnist_relu_9_200.onnx.gz",
    "tllverifybench/onnx/tllBench_n=2_N=M=16_m=1_instance_1_0.onnx.gz",
    "test/onnx/test_nano.onnx.gz",
    "test/onnx/test_tiny.onnx.gz",
    "test/onnx/test_small.onnx.gz",
    "test/onnx/test_sat.onnx.gz",
    "test/onnx/test_unsat.onnx.gz",
]


def _all_of(benchmarks_dir, folder: str) -> list[str]:
    return sorted(str(p.relative_to(benchmarks_dir)) for p in (benchmarks_dir / folder / "onnx").glob("*.onnx.gz"))


@pytest.mark.parametrize("name", NETWORKS + ["rl_benchmarks", "reach_prob_density", "oval21"])
def test_point_boxes_contain_onnxruntime_outputs(benchmarks_dir, name):
    names = _all_of(benchmarks_dir, name) if "/" not in name else [name]
    for relative in names:
        data, model = read_onnx(benchmarks_dir / relative)
        chain = chain_of(model)
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        shape = [d if isinstance(d, int) else 1 for d in feed.shape]
        x = np.random.default_rng(0).uniform(-1, 1, (3, chain.sizes[0])).astype(np.float32)
        expected = np.stack([session.run(None, {feed.name: row.reshape(shape)})[0].reshape(-1) for row in x])
        lo, hi = x.astype(np.float64), x.astype(np.float64)
        for step in chain.steps:
            lo, hi = forward(step, lo, hi)
        assert np.all(lo <= hi) and np.allclose((lo + hi) / 2, expected, rtol=1e-4, atol=1e-4), relative
        # only the rigorous rounding terms separate the ends (they grow with depth and width)
        assert np.all(hi - lo <= 1e-5 * (1 + np.abs(lo))), relative


@pytest.mark.parametrize("name, operator", [("eran/onnx/ffnnSIGMOID__Point_6x200.onnx.gz", "Sigmoid")])
def test_unsupported_operators_are_named(benchmarks_dir, name, operator):
    _, model = read_onnx(benchmarks_dir / name)
    with pytest.raises(Unsupported, match=f"unsupported operator {operator}"):
        chain_of(model)


@pytest.mark.parametrize("attributes", [{"group": 2}, {"auto_pad": "SAME_UPPER"}])
def test_convolutions_of_other_forms_are_named(attributes):
    from onnx import TensorProto, helper, numpy_helper

    kernel = numpy_helper.from_array(np.ones((2, 1 if "group" in attributes else 2, 3, 3), np.float32), "k")
    conv = helper.make_node("Conv", ["x", "k"], ["y"], kernel_shape=[3, 3], **attributes)
    graph = helper.make_graph([conv], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [kernel])
    with pytest.raises(Unsupported, match="Conv of this form"):
        chain_of(helper.make_model(graph))


def test_garbage_is_not_a_model():
    with pytest.raises(ValueError, match="not an ONNX model"):
        read_onnx(gzip.compress(b"\x00garbage" * 10))
