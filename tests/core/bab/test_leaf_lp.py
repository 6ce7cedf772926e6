import numpy as np
import pytest
import torch

from core.bab.leaf_lp import exact_leaf, phase_masks
from core.bounds import Domains, bound
from core.model.ir import Interval
from tests.core.bab.exact import disjunct_feasible, load, random_mlp, relu_mlp


def pre_bounds(graph, lower, upper, splits):
    domains = Domains(lower.reshape(1, -1), upper.reshape(1, -1), splits)
    C = torch.zeros(1, 1, graph.output_size, dtype=torch.float64)
    return bound(graph, domains, C, torch.zeros(1, 1, dtype=torch.float64), "crown").intermediate


def test_unstable_neurons_mean_no_lp():
    box = Interval(torch.tensor([[-1.0, 2.0]]), torch.tensor([[1.0, 3.0]]))
    assert phase_masks({"r": box}) is None
    masks = phase_masks({"r": Interval(torch.tensor([[0.0, -2.0]]), torch.tensor([[1.0, 0.0]]))})
    assert masks["r"].tolist() == [[1.0, 0.0]]


@pytest.mark.parametrize("seed", range(4))
def test_the_lps_over_all_phase_patterns_decide_exactly_what_the_milp_decides(seed):
    rng = np.random.default_rng(seed)
    weights, biases = random_mlp(rng, [2, 3, 2])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.tensor([-1.0, -1.0], dtype=torch.float64), torch.tensor([1.0, 1.0], dtype=torch.float64)
    relu = next(n.name for n in graph.nodes if type(n.op).__name__ == "Relu")
    C = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    patterns = []
    for phases in range(8):
        split = torch.tensor([[1 if phases >> j & 1 else -1 for j in range(3)]], dtype=torch.int8)
        patterns.append(pre_bounds(graph, lower, upper, {relu: split}))
    for d in np.linspace(-1.5, 1.5, 7):
        values = [exact_leaf(graph, lower, upper, C, torch.tensor([d], dtype=torch.float64), pre) for pre in patterns]
        assert all(v is not None for v, _, _ in values)
        reachable = min(v for v, _, _ in values) <= 1e-9
        milp, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C.numpy(), np.array([d]))
        assert reachable == milp, f"d={d}: LP leaves say {reachable}, MILP {milp}"
        for value, x, _ in values:
            if x is not None and value <= 0:  # the LP's witness really reaches the set
                assert float(C[0] @ graph.forward(x[None]).reshape(-1)) - d <= 1e-6
