"""Both branch-and-bound searches against the exact MILP on small random networks."""

import functools
import time

import numpy as np
import pytest
import torch

from core.attack.pgd import margins
from core.bab.choose import make_search
from core.bab.budget import Budget, Stop
from core.config import VerifyConfig
from tests.core.bab.exact import disjunct_feasible, load, random_mlp, relu_mlp, two_output_case


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


@pytest.mark.parametrize("seed", range(6))
def test_input_search_with_averaged_rows_matches_the_milp_on_three_row_disjuncts(seed):
    rng = np.random.default_rng(100 + seed)
    weights, biases = random_mlp(rng, [2, 8, 8, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((2,), -1.0, dtype=torch.float64), torch.full((2,), 1.0, dtype=torch.float64)
    # "output 0 is the largest": y_i - y_0 <= 0 for i = 1, 2, plus a loose third row
    C = torch.tensor([[[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    for shift in (-0.2, 0.0, 0.2):
        d = torch.tensor([[shift, shift, 10.0]], dtype=torch.float64)
        recorder = Recorder(graph, C, d)
        config = VerifyConfig(branching="input").resolve(2, True, False, 100)
        outcome = make_search(graph, C, d, config, recorder, Budget(30), margin=1e-9).run(lower, upper)
        exact, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C[0].numpy(), d[0].numpy())
        assert outcome.status == ("sat" if exact else "unsat"), (seed, shift)


def test_averaged_rows_are_convex_combinations_of_the_rows():
    from core.bab.choose import with_averaged_rows

    C = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    d = torch.tensor([[1.0, 2.0, 3.0]])
    C2, d2 = with_averaged_rows(C, d)
    assert C2.shape == (1, 7, 2) and d2.shape == (1, 7)
    assert torch.equal(C2[:, :3], C) and torch.equal(d2[:, :3], d)
    assert torch.allclose(C2[0, 3], torch.tensor([0.5, 0.5])) and float(d2[0, 3]) == 1.5
    assert torch.allclose(C2[0, -1], torch.tensor([2 / 3, 2 / 3])) and abs(float(d2[0, -1]) - 2.0) < 1e-6
    one = torch.tensor([[[1.0, 2.0]]])
    assert with_averaged_rows(one, torch.tensor([[0.0]]))[0] is one


def test_the_smear_picks_the_split_until_it_starves_a_relatively_wide_dimension():
    from core.bab.input_split import STARVED, split_dimension

    root = torch.tensor([1.0, 1.0, 2.0])
    sensitivity = torch.tensor([[100.0, 1.0, 1.0]] * 3)
    width = torch.tensor([[0.5, 1.0, 2.0],                     # smear: 50 vs 1 vs 2 -> dim 0
                          [1.0 / STARVED, 1.0, 1.0],           # dim 0 at 1/64 of dims 1-2: still the smear's
                          [0.5 / STARVED, 0.9, 2.0]])          # dim 0 at 1/128 of dim 2 (relative): dim 2
    assert split_dimension(sensitivity, width, root).tolist() == [0, 0, 2]
    flat = torch.tensor([[0.0, 1.0, 2.0]])
    assert split_dimension(torch.tensor([[1e9, 1.0, 1.0]]), flat, root).item() != 0


@pytest.mark.parametrize("kind", ["input", "relu"])
@pytest.mark.parametrize("seed", range(2))
def test_a_search_stopped_by_slices_and_resumed_each_time_matches_the_milp(kind, seed):
    """What the verifier does between stages: a slice's end raises Stop mid-search, and
    `resume` goes on from the pool; the answer and the proof tree must not suffer."""
    weights, biases, graph, lower, upper, C, sampled_min = two_output_case(200 + seed, seed, 10)
    # a few steps each (the searches take 0.1-2.5 s, some under 0.2 s on a fast machine); a slice
    # that ends before the root is bounded, or before a step ends, is doubled for the next try,
    # so the run cannot spin on a machine where no step fits in it
    first_slice_s = 0.02
    stops = 0
    for d in (sampled_min - 0.1, sampled_min - 0.02):  # near the true minimum: both answers occur
        dt = torch.tensor([[d]], dtype=torch.float64)
        config = VerifyConfig(branching=kind, batch_size=2).resolve(3, True, False, 100)
        budget = Budget(60)
        search = make_search(graph, C, dt, config, Recorder(graph, C, dt), budget, margin=1e-9)
        step = functools.partial(search.run, lower, upper)
        slice_s = first_slice_s
        while True:
            budget.slice_end = time.monotonic() + slice_s
            visited = search.visited
            try:
                outcome = step()
                break
            except Stop as stop:
                assert stop.reason == "slice"
                stops += 1
                if search.rooted:  # else the stop came before the root was bounded: run again
                    step = search.resume
                if not search.rooted or search.visited == visited:  # no step fitted (a slow machine)
                    slice_s *= 2
        exact, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C[0].numpy(), np.array([d]))
        assert outcome.status == ("sat" if exact else "unsat"), (seed, d)
        if not exact:
            tree = outcome.tree.to_dict()
            assert all(leaf["lower_bound"] > 0 for leaf in tree["leaves"])
            assert len(tree["leaves"]) == tree["nodes"] - len(tree["splits"])  # every node split or closed
    assert stops > 0


def test_a_search_stopped_before_its_root_was_bounded_refuses_to_resume():
    weights, biases = random_mlp(np.random.default_rng(0), [3, 6, 2])
    graph = load(relu_mlp(weights, biases)).graph
    C, d = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64), torch.tensor([[-10.0]], dtype=torch.float64)
    config = VerifyConfig(branching="input").resolve(3, True, False, 100)
    search = make_search(graph, C, d, config, Recorder(graph, C, d), Budget(60), margin=1e-9)
    with pytest.raises(RuntimeError, match="before run"):
        search.resume()  # an empty pool must not read as "every domain closed"


# What a step calls to bound its batch, and how often `run` calls it for the root first
BOUND_STEP = {"input": ("_bound_children", 0), "relu": ("evaluate", 1)}


def _out_of_memory_in_steps(search, kind: str, failures: int) -> None:
    """Make the search's first `failures` steps raise CUDA's out-of-memory error."""
    name, root_calls = BOUND_STEP[kind]
    method, calls = getattr(search, name), {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if root_calls < calls["n"] <= root_calls + failures:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return method(*args, **kwargs)
    setattr(search, name, failing)


@pytest.mark.parametrize("kind", ["input", "relu"])
def test_a_search_that_runs_out_of_memory_halves_its_batch_and_still_matches_the_milp(kind):
    rng = np.random.default_rng(300)
    weights, biases = random_mlp(rng, [3, 10, 10, 2])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((3,), -1.0, dtype=torch.float64), torch.full((3,), 1.0, dtype=torch.float64)
    C = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64)
    for d in (-1.0, 0.0, 0.5):
        dt = torch.tensor([[d]], dtype=torch.float64)
        config = VerifyConfig(branching=kind, batch_size=64).resolve(3, True, False, 100)
        search = make_search(graph, C, dt, config, Recorder(graph, C, dt), Budget(60), margin=1e-9)
        _out_of_memory_in_steps(search, kind, 3)
        outcome = search.run(lower, upper)
        exact, _ = disjunct_feasible(weights, biases, lower.numpy(), upper.numpy(), C[0].numpy(), np.array([d]))
        assert outcome.status == ("sat" if exact else "unsat"), d
        if outcome.status == "unsat":
            tree = outcome.tree.to_dict()
            assert search.batch_size == 8  # three halvings of 64, never grown back (fixed size)
            assert len(tree["leaves"]) == tree["nodes"] - len(tree["splits"])  # no batch lost to the failures


@pytest.mark.parametrize("kind", ["input", "relu"])
def test_a_search_out_of_memory_with_one_domain_per_batch_answers_unknown_and_keeps_its_pool(kind):
    weights, biases = random_mlp(np.random.default_rng(301), [3, 10, 10, 2])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((3,), -1.0, dtype=torch.float64), torch.full((3,), 1.0, dtype=torch.float64)
    C, d = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64), torch.tensor([[-1.15]], dtype=torch.float64)
    config = VerifyConfig(branching=kind, batch_size=4).resolve(3, True, False, 100)
    search = make_search(graph, C, d, config, Recorder(graph, C, d), Budget(60), margin=1e-9)
    _out_of_memory_in_steps(search, kind, 10 ** 9)
    outcome = search.run(lower, upper)
    assert (outcome.status, outcome.stats["reason"]) == ("unknown", "out of memory with one domain per batch")
    assert search.batch_size == 1 and len(search.pool) == 1  # the root is still there to resume from
