"""The whole verifier answers the same on CUDA as on the CPU, and its LP pursuit runs there
(it once built its LP from CUDA tensors and stopped every input-split search on a GPU)."""

import pytest
import torch

from core.bounds.lp import AffinePart
from core.config import VerifyConfig
from core.model import load_network
from core.spec import load_property
from core.verifier import verify
from core.verifier.certify import certify
from tests.core.bounds import nets

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


def test_the_lp_of_a_cuda_graph_is_the_cpu_one():
    graph = nets.load(nets.fc_net(1, 4, [16, 16], 3))
    cpu, cuda = AffinePart(graph), AffinePart(graph.to("cuda"))
    assert cpu.offset == cuda.offset
    for (a, b), (c, e) in zip(cpu.equalities(cpu.n_tensor_vars), cuda.equalities(cuda.n_tensor_vars)):
        assert (a != c).nnz == 0 and (b == e).all()


@pytest.mark.parametrize("folder, onnx, vnnlib, expected", [
    ("acasxu", "ACASXU_run2a_1_1_batch_2000", "prop_2", "unsat"),  # input splitting with the LP pursuit
    ("mnist_fc", "mnist-net_256x2", "prop_11_0.05", "unsat"),  # ReLU splitting
])
def test_cpu_and_cuda_give_the_same_certified_verdict(benchmarks_dir, folder, onnx, vnnlib, expected):
    network = load_network(benchmarks_dir / folder / "onnx" / f"{onnx}.onnx.gz")
    prop = load_property(benchmarks_dir / folder / "vnnlib" / f"{vnnlib}.vnnlib.gz")
    for device in ("cpu", "cuda"):
        result = verify(network, prop, VerifyConfig(timeout_s=120, device=device))
        assert (result.verdict.value, result.stats["device"]) == (expected, device)
        assert certify(network, prop, result).check.valid, device
