"""ReLU splitting on two neurons per step while the frontier is narrow (`double_split_max`):
the same answers as the exact MILP in fewer steps, and proofs the checker accepts."""

import numpy as np
import pytest
import torch

from core.bab.budget import Budget
from core.bab.choose import make_search
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.certify import certify
from tests.core.bab.exact import disjunct_feasible, two_output_case
from tests.core.bab.test_searches import Recorder
from tests.core.certificate.nets import below_the_minimum, onnx_bytes, random_layers


def _search(graph, C, d, double_split_max: int):
    # a fixed batch wider than the frontier: each step takes all of it, whatever the machine's speed
    config = VerifyConfig(branching="relu", relu_heuristic="fsb", batch_size=256, double_split_max=double_split_max)
    search = make_search(graph, C, d, config.resolve(3, True, False, 100), Recorder(graph, C, d), Budget(60),
                         margin=1e-9)
    steps = []
    search.on_batch = lambda s: steps.append(len(s.pool))  # once per step, with the frontier it pops
    return search, steps


@pytest.mark.parametrize("seed", range(4))
def test_two_splits_a_step_answer_as_the_milp_in_fewer_steps(seed):
    weights, biases, graph, lower, upper, C, sampled_min = two_output_case(seed, seed, 12)
    for d in (sampled_min - 0.3, sampled_min - 0.02):  # unsat, or near the minimum (either answer)
        dt = torch.tensor([[d]], dtype=torch.float64)
        exact, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C[0].numpy(), np.array([d]))
        single, single_steps = _search(graph, C, dt, 0)
        double, double_steps = _search(graph, C, dt, 10_000)
        for search in (single, double):
            assert search.run(lower, upper).status == ("sat" if exact else "unsat"), (seed, d)
        if not exact and len(single_steps) >= 3:
            # about half the steps (a child a cheap pass closes is not split again)
            assert len(double_steps) <= 0.7 * len(single_steps) + 1, (single_steps, double_steps)


def test_a_proof_made_two_splits_a_step_checks():
    rng = np.random.default_rng(0)
    layers = random_layers(rng, [2, 8, 8, 1])
    prop = below_the_minimum(layers, 0.01)
    network = load_network(onnx_bytes(layers))
    parents = {}
    for double in (0, 10_000):  # a fixed batch: the trees do not depend on step times
        config = VerifyConfig(timeout_s=60, device="cpu", threads=1, branching="relu", alpha_iterations=2,
                              attack_restarts=1, batch_size=256, double_split_max=double)
        result = verify(network, prop, config)
        assert result.verdict is Verdict.UNSAT, result.message
        assert certify(network, prop, result).check.valid
        parents[double] = [t["tree"]["parent"] for t in result.certificate["targets"] if t["closed_by"] == "bab"]
    assert parents[10_000] and parents[10_000] != parents[0]  # the proof really was made two splits a step
