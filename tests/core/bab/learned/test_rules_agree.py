"""Branching changes only speed: every rule (fsb, babsr, upb, gnn) gives the same verdict
(the exact one: tests/core/bab/exact.py's MILP decided these instances once; it takes
10 s to minutes per instance, too long for every run),
backed by a certificate the checker accepts or a counterexample onnxruntime confirms."""

import numpy as np
import pytest
import torch

from core.bab.learned.gnn import BranchGNN
from core.bab.learned.model_file import save_brancher
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.spec import load_property
from core.verifier import verify
from core.verifier.certify import certify, replay
from tests.core.bab.exact import load, one_region, random_mlp, relu_mlp

RULES = [("fsb", {}), ("fsb", {"split_score": "gains"}), ("babsr", {}), ("upb", {}), ("gnn", {}),
         ("gnn", {"gnn_candidates": 3, "split_score": "gains"})]


def random_instance(seed: int, radius: float):
    """A 20-input, two-layer network and 'output 0 is not above output 1' around a random point:
    (network, property, weights, biases)."""
    rng = np.random.default_rng(seed)
    weights, biases = random_mlp(rng, [20, 32, 32, 2])
    network = load(relu_mlp(weights, biases))
    x0 = rng.uniform(-1, 1, 20)
    out = network.graph.to("cpu", torch.float64).forward(torch.as_tensor(x0)[None]).flatten()
    C = np.array([[1.0, -1.0]]) * (1 if out[0] > out[1] else -1)
    prop = one_region(x0 - radius, x0 + radius, [(C, np.zeros(1))], 2)
    return network, prop, weights, biases


@pytest.fixture(scope="module")
def brancher(tmp_path_factory):
    torch.manual_seed(0)  # an untrained model: the worst case for the choices, never for the verdict
    path = tmp_path_factory.mktemp("gnn") / "random.brancher"
    save_brancher(BranchGNN(dim=16), path)
    return str(path)


def instances(bundled_benchmarks):
    mlp = bundled_benchmarks / "mlp"
    yield ("seed4-r0.2", *random_instance(4, 0.2)[:2], "unsat")    # after 6 to 90 domains
    yield ("seed3-r0.3", *random_instance(3, 0.3)[:2], "unsat")    # after a few domains
    yield ("seed0-r0.3", *random_instance(0, 0.3)[:2], "sat")
    yield ("tiny_unsat", load_network(mlp / "onnx/tiny.onnx.gz"), load_property(mlp / "vnnlib/tiny_unsat.vnnlib.gz"), "unsat")


def test_every_rule_gives_the_exact_verdict_with_valid_evidence(bundled_benchmarks, brancher):
    branched = 0
    for name, network, prop, expected in instances(bundled_benchmarks):
        for rule, extra in RULES:
            config = VerifyConfig(timeout_s=30, device="cpu", threads=1, branching="relu", relu_heuristic=rule,
                                  brancher=brancher if rule == "gnn" else None, **extra)
            result = verify(network, prop, config)
            assert result.verdict.value == expected, (name, rule, extra, result.message)
            if result.verdict is Verdict.UNSAT:
                checked = certify(network, prop, result).check
                assert checked.valid, (name, rule, checked.reason)
            else:
                assert replay(network.onnx_bytes, prop, result.counterexample)["valid"], (name, rule)
            branched += result.domains_visited > 0
    assert branched >= len(RULES), "some instance must need branching under every rule"
