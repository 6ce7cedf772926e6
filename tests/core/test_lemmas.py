"""Lemmas (core.verifier.lemmas): every proven bound holds at sampled points, and tightens the box."""

import time

import numpy as np
import pytest
import torch

from core.config import VerifyConfig
from core.verifier.lemmas import cut_at, lemma_layers, prove_lemmas
from core.verifier.roots import tighten_root
from tests.core.bab.exact import load, random_mlp, relu_mlp


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lemmas_hold_at_sampled_points(seed):
    rng = np.random.default_rng(seed)
    weights, biases = random_mlp(rng, [6, 24, 24, 16, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((6,), -1.0, dtype=torch.float64), torch.full((6,), 1.0, dtype=torch.float64)
    layer = lemma_layers(graph)[0]
    tensor = graph.node(layer).inputs[0]
    config = VerifyConfig(branching="relu", lemma_seconds=0.5).resolve(6, True, False, 1000)
    found = []

    def prove(boxes, box):
        narrowed, lemmas = prove_lemmas(graph, layer, boxes, box, lower, upper, config, 1e-9, 10.0)
        found.append((box, narrowed, lemmas))
        return narrowed, lemmas

    tighten_root(graph, lower, upper, 5, None, {tensor: prove})
    (box, narrowed, lemmas) = found[0]
    assert lemmas, "no lemma on a box that CROWN leaves loose"
    assert torch.all(narrowed.lower >= box.lower) and torch.all(narrowed.upper <= box.upper)
    generator = torch.Generator().manual_seed(seed)
    x = lower + (upper - lower) * torch.rand(20000, 6, dtype=torch.float64, generator=generator)
    z = cut_at(graph, tensor).forward(x).flatten(1)
    for lemma in lemmas:
        assert (lemma.side * z[:, lemma.neuron]).min() >= lemma.threshold
        assert lemma.tree.closed, "a lemma's tree has leaves"
    assert torch.all(z >= narrowed.lower.flatten() - 1e-9) and torch.all(z <= narrowed.upper.flatten() + 1e-9)


def test_lemmas_do_not_depend_on_how_fast_the_machine_is(monkeypatch):
    """The searches are limited by domains, not time: slow steps (a loaded machine) give the
    same lemmas, so a run's root, and its verdict, do not depend on the load."""
    import core.verifier.lemmas as lemmas_module

    weights, biases = random_mlp(np.random.default_rng(5), [6, 24, 24, 16, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((6,), -1.0, dtype=torch.float64), torch.full((6,), 1.0, dtype=torch.float64)
    layer = lemma_layers(graph)[0]
    config = VerifyConfig(branching="relu", lemma_domains=64).resolve(6, True, False, 1000)

    def lemmas_found() -> list[tuple[int, int, float, int]]:
        found = []

        def prove(boxes, box):
            narrowed, lemmas = prove_lemmas(graph, layer, boxes, box, lower, upper, config, 1e-9, 60.0)
            found.extend((lemma.neuron, lemma.side, lemma.threshold, len(lemma.tree.closed)) for lemma in lemmas)
            return narrowed, lemmas

        tighten_root(graph, lower, upper, 5, None, {graph.node(layer).inputs[0]: prove})
        return found

    quick = lemmas_found()
    make_search = lemmas_module.make_search

    def slow_search(*args, **kwargs):
        search = make_search(*args, **kwargs)
        evaluate = search.evaluate

        def slow_evaluate(*a, **k):
            time.sleep(0.01)
            return evaluate(*a, **k)
        search.evaluate = slow_evaluate
        return search

    monkeypatch.setattr(lemmas_module, "make_search", slow_search)
    assert quick and any(size > 1 for *_, size in quick), "no lemma needed a search"
    assert lemmas_found() == quick


def test_lemmas_spread_over_shares_are_the_ones_one_process_finds():
    """A distributed job deals a layer's searches into shares (worker/parallel_lemmas.py):
    whatever order the shares come back in, the box and the lemmas are one process's."""
    from core.verifier.lemmas import search

    weights, biases = random_mlp(np.random.default_rng(7), [6, 24, 24, 16, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((6,), -1.0, dtype=torch.float64), torch.full((6,), 1.0, dtype=torch.float64)
    layer = lemma_layers(graph)[0]
    config = VerifyConfig(branching="relu", lemma_domains=64).resolve(6, True, False, 1000)
    shares_seen = []

    def in_three_shares_backwards(graph_, work, budget):
        shares = work.shares(3)
        shares_seen.append((work.neurons, [share.neurons for share in shares]))
        return [lemma for share in reversed(shares) for lemma in search(graph_, share, budget)]

    def run(spread):
        found = []

        def prove(boxes, box):
            narrowed, lemmas = prove_lemmas(graph, layer, boxes, box, lower, upper, config, 1e-9, 60.0, spread=spread)
            found.append((narrowed, [(lemma.neuron, lemma.side, lemma.threshold) for lemma in lemmas]))
            return narrowed, lemmas

        tighten_root(graph, lower, upper, 5, None, {graph.node(layer).inputs[0]: prove})
        return found[0]

    (box_one, lemmas_one), (box_spread, lemmas_spread) = run(None), run(in_three_shares_backwards)
    every, shares = shares_seen[0]
    dealt = [j for share in shares for j in share]
    assert len(shares[0]) >= 2 and sorted(dealt) == sorted(every), "every neuron in exactly one share"
    assert len(lemmas_one) >= 3 and lemmas_spread == lemmas_one
    assert torch.equal(box_spread.lower, box_one.lower) and torch.equal(box_spread.upper, box_one.upper)


def test_lemma_searches_take_their_own_alpha_steps_and_their_lemmas_hold(monkeypatch):
    """`lemma_alpha_iterations`, not `alpha_iterations`, sets a lemma search's α steps; with
    none at all (CROWN's slopes) the lemmas are looser at most, never wrong."""
    import core.verifier.lemmas as lemmas_module

    weights, biases = random_mlp(np.random.default_rng(3), [6, 24, 24, 16, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((6,), -1.0, dtype=torch.float64), torch.full((6,), 1.0, dtype=torch.float64)
    layer = lemma_layers(graph)[0]
    tensor = graph.node(layer).inputs[0]
    steps, make_search = [], lemmas_module.make_search

    def counted_search(graph_, C, d, config, *args, **kwargs):
        steps.append(config.alpha_iterations)
        return make_search(graph_, C, d, config, *args, **kwargs)

    monkeypatch.setattr(lemmas_module, "make_search", counted_search)
    x = lower + (upper - lower) * torch.rand(20000, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    z = cut_at(graph, tensor).forward(x).flatten(1)
    for iterations in (0, 7):
        config = VerifyConfig(branching="relu", alpha_iterations=20, lemma_alpha_iterations=iterations,
                              lemma_domains=64).resolve(6, True, False, 1000)
        found, steps[:] = [], []

        def prove(boxes, box):
            narrowed, lemmas = prove_lemmas(graph, layer, boxes, box, lower, upper, config, 1e-9, 60.0)
            found.extend(lemmas)
            return narrowed, lemmas

        tighten_root(graph, lower, upper, 5, None, {tensor: prove})
        assert found and set(steps) == {iterations}
        for lemma in found:
            assert (lemma.side * z[:, lemma.neuron]).min() >= lemma.threshold


def test_shares_take_one_process_worth_of_time():
    """Each of N shares ends after 1/N of the time left, so that a layer whose searches run
    out of time takes 1/N of the wall time spread, as many worker-seconds as in one process."""
    from core.verifier.lemmas import plan

    weights, biases = random_mlp(np.random.default_rng(7), [6, 24, 24, 16, 3])
    graph = load(relu_mlp(weights, biases)).graph
    lower, upper = torch.full((6,), -1.0, dtype=torch.float64), torch.full((6,), 1.0, dtype=torch.float64)
    layer = lemma_layers(graph)[0]
    tensor = graph.node(layer).inputs[0]
    config = VerifyConfig(branching="relu").resolve(6, True, False, 1000)
    works = []

    def prove(boxes, box):
        works.append(plan(graph, layer, boxes, box, lower, upper, config, 1e-9, 40.0))
        return box, []

    tighten_root(graph, lower, upper, 5, None, {tensor: prove})
    work = works[0]
    shares = work.shares(4)
    now = time.time()
    assert len(work.neurons) >= 8 and sorted(j for share in shares for j in share.neurons) == sorted(work.neurons)
    for share in shares:
        assert share.end_unix == shares[0].end_unix and 9.0 <= share.end_unix - now <= 10.0
        assert [work.sides[work.neurons.index(j)] for j in share.neurons] == share.sides
