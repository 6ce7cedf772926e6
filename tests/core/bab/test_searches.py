"""Both branch-and-bound searches against the exact MILP on small random networks."""

import numpy as np
import pytest
import torch

from core.attack.pgd import margins
from core.bab.choose import make_search
from core.bab.budget import Budget
from core.config import VerifyConfig
from tests.core.bab.exact import disjunct_feasible, load, random_mlp, relu_mlp


class Recorder:
    """Accepts a candidate when the network really maps it into the set (as onnxruntime would)."""

    def __init__(self, graph, C, d):
        self.graph, self.C, self.d, self.found = graph, C, d, None

    def __call__(self, xs):
        m = margins(self.graph.forward(xs).flatten(1), self.C.expand(len(xs), -1, -1), self.d.expand(len(xs), -1))
        if bool((m <= 0).any()):
            self.found = xs[int(m.argmin())]
            return True
        return False


@pytest.mark.parametrize("kind", ["input", "relu"])
@pytest.mark.parametrize("seed", range(6))
def test_search_answers_match_the_milp(kind, seed):
    rng = np.random.default_rng(seed)
    weights, biases = random_mlp(rng, [3, 6, 6, 2])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((3,), -1.0, dtype=torch.float64), torch.full((3,), 1.0, dtype=torch.float64)
    C = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64)
    for d in (-0.5, 0.0, 0.3):
        dt = torch.tensor([[d]], dtype=torch.float64)
        recorder = Recorder(graph, C, dt)
        config = VerifyConfig(branching=kind, relu_heuristic="fsb").resolve(3, True, False, 100)
        search = make_search(graph, C, dt, config, recorder, Budget(30), margin=1e-9)
        outcome = search.run(lower, upper)
        exact, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C[0].numpy(), np.array([d]))
        assert outcome.status == ("sat" if exact else "unsat"), (seed, d)
        if exact:
            assert recorder.found is not None
        else:
            tree = outcome.tree.to_dict()
            assert tree["leaves"] and all(leaf["lower_bound"] > 0 for leaf in tree["leaves"])
