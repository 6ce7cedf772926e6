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
    "eran/onnx/ffnnSIGMOID__Point_6x200.onnx.gz",
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


def test_large_nearly_empty_matrices_are_read_sparse_with_the_file_s_values(benchmarks_dir):
    from onnx import numpy_helper
    from scipy import sparse

    _, model = read_onnx(benchmarks_dir / "tllverifybench/onnx/tllBench_n=2_N=M=16_m=1_instance_1_0.onnx.gz")
    chain = chain_of(model)
    held = [s.W for s in chain.steps if hasattr(s, "W") and sparse.issparse(s.W)]
    assert held and all(W.nnz <= 0.01 * W.shape[0] * W.shape[1] for W in held)
    matrices = [numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer]
    for W in held:  # each is a MatMul's constant, transposed, entry for entry
        assert any(v.T.shape == W.shape and np.array_equal(W.toarray(), v.T) for v in matrices if v.ndim == 2)
    # the first run (2 -> 16 -> 256 -> 512, its last factor sparse) is still composed into one 512 x 2 step
    first = min(chain.runs.values(), key=lambda r: r.first)
    assert first.first == 0 and first.W.shape == (512, 2) and isinstance(first.W, np.ndarray)


def test_convolutions_are_read_as_sparse_matrices_of_the_kernel_taps(benchmarks_dir):
    from scipy import sparse

    _, model = read_onnx(benchmarks_dir / "oval21/onnx/cifar_base_kw.onnx.gz")
    first = chain_of(model).steps[0]  # Conv 3 -> 8 channels, 4x4 kernel, stride 2, pad 1, on 32x32
    assert sparse.issparse(first.W) and first.W.shape == (8 * 16 * 16, 3 * 32 * 32)
    taps = sum(1 for o in range(16) for k in range(4) if 0 <= 2 * o - 1 + k < 32) ** 2  # (out position, tap) pairs
    assert first.W.nnz == 8 * 3 * taps


@pytest.mark.parametrize("operator", ["Elu", "Softplus"])
def test_unsupported_operators_are_named(operator):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node(operator, ["x"], ["y"])], "one",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    with pytest.raises(Unsupported, match=f"unsupported operator {operator}"):
        chain_of(helper.make_model(graph))


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


def test_a_convolutional_network_gets_certificates_that_check():
    """Conv → Relu → Flatten → Gemm: the engine's CROWN proof is re-derived by the checker,
    and a property the sampled outputs violate is not."""
    from onnx import TensorProto, helper, numpy_helper

    from core.certificate import check, property_digest
    from tests.core.certificate.nets import one_row_property
    from tests.core.certificate.producer import produce

    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(0, 0.5, (3, 2, 2, 2)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32)
    dense, out_bias = rng.normal(0, 0.3, (2, 3 * 3 * 3)).astype(np.float32), rng.normal(0, 0.1, 2).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "k", "kb"], ["c"], kernel_shape=[2, 2], pads=[1, 1, 0, 0], strides=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    inits = [numpy_helper.from_array(a, n) for a, n in ((kernel, "k"), (bias, "kb"), (dense, "W"), (out_bias, "b"))]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 3, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], inits)
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    centre = rng.uniform(-1, 1, 18)
    x = centre + rng.uniform(-0.05, 0.05, (4000, 18))
    y = session.run(None, {"x": x.astype(np.float32).reshape(-1, 2, 3, 3)})[0]
    c = np.array([1.0, -1.0])
    lowest = float((y @ c).min())
    held = one_row_property(centre - 0.05, centre + 0.05, c, lowest - 0.2)
    assert check(data, held, produce(data, held, "input", 2000)).valid
    violated = one_row_property(centre - 0.05, centre + 0.05, c, lowest + 1e-3)
    certificate = produce(data, held, "input", 2000)
    certificate.property_sha256 = property_digest(violated)
    assert not check(data, violated, certificate).valid
