"""α-CROWN intermediate bounds on small random ReLU networks in float64: every pre-activation
box lies inside CROWN's and contains the exact (MILP) range of its neuron; the slopes
handed out reproduce the boxes; the final bound from them stays below the exact minimum."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bounds.alpha import initial_alphas, optimise
from core.bounds.crown import backward_bound, crown_refiner
from core.bounds.domains import Domains
from core.bounds.ibp import interval_pass
from core.bounds.intermediate_alpha import optimised_boxes
from core.bounds.memory import budget_bytes
from core.bounds.plan import plan_for
from core.model import load_network
from tests.core.certificate.nets import exact_min, onnx_bytes, random_layers

TOL = 1e-5  # relative: the MILP's own feasibility tolerance (α reaches the exact range on tiny layers)


def _setup(seed: int, sizes: list[int], radius: float):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    graph = load_network(onnx_bytes(layers)).graph.to("cpu", torch.float64)
    centre = rng.uniform(-1, 1, sizes[0])
    lower, upper = centre - radius, centre + radius
    domains = Domains(torch.as_tensor(lower)[None], torch.as_tensor(upper)[None])
    return layers, graph, plan_for(graph), domains, lower, upper


def _relu_boxes(plan, boxes):
    return [(n.name, boxes[n.inputs[0]]) for n in plan.nonlinear]


def _assert_inside_crown_and_around_exact(seed: int, sizes: list[int], radius: float) -> int:
    """Returns how many bounds α tightened beyond CROWN."""
    layers, graph, plan, domains, lower, upper = _setup(seed, sizes, radius)
    crown, _ = interval_pass(plan, domains, crown_refiner(plan, budget_bytes(torch.device("cpu"), None)))
    found = optimised_boxes(plan, domains, iterations=30, lr=0.2)
    tighter = 0
    for k, (name, box) in enumerate(_relu_boxes(plan, found.boxes)):
        ref = crown[plan.graph.node(name).inputs[0]]
        assert torch.all(box.lower >= ref.lower - 1e-12) and torch.all(box.upper <= ref.upper + 1e-12)
        tighter += int((box.lower > ref.lower + 1e-9).sum() + (box.upper < ref.upper - 1e-9).sum())
        truncated = layers[:k + 1]  # the network up to this ReLU's input
        for j in range(box.lower.shape[1]):
            e = np.eye(box.lower.shape[1])[j]
            try:
                low = exact_min(truncated, lower, upper, e)
                high = -exact_min(truncated, lower, upper, -e)
            except AssertionError:  # HiGHS now and then answers "solve error" on these tiny MILPs
                continue
            assert float(box.lower[0, j]) <= low + TOL * (1 + abs(low)), (k, j, float(box.lower[0, j]), low)
            assert float(box.upper[0, j]) >= high - TOL * (1 + abs(high)), (k, j, float(box.upper[0, j]), high)
    return tighter


def test_boxes_lie_inside_crowns_and_contain_every_exact_range():
    # deep and narrow enough that CROWN's boxes loosen layer by layer
    assert _assert_inside_crown_and_around_exact(4, [3, 8, 8, 8, 8, 2], 0.6) > 0


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.lists(st.integers(2, 8), min_size=2, max_size=4), st.floats(0.05, 1.0))
def test_boxes_contain_exact_ranges_on_random_networks(seed, widths, radius):
    _assert_inside_crown_and_around_exact(seed, [3] + widths + [2], radius)


def test_recorded_slopes_reproduce_each_tightened_bound():
    """The slopes of a row give that row's bound again on one plain backward pass (what a
    certificate checker does with them); NaN rows are the ones CROWN's bound was kept for."""
    _, graph, plan, domains, _, _ = _setup(4, [3, 8, 8, 8, 8, 2], 0.6)
    found = optimised_boxes(plan, domains, iterations=30, lr=0.2)
    checked = 0
    for name, box in _relu_boxes(plan, found.boxes):
        per = found.slopes.get(name)
        if not per:
            continue
        n = box.lower.shape[1]
        target = plan.graph.node(name).inputs[0]
        for row in range(2 * n):
            given = {act: v[0, row] for act, v in per.items()}
            if all(torch.isnan(v).all() for v in given.values()):
                continue
            A = torch.zeros(1, 1, n, dtype=torch.float64)
            A[0, 0, row % n] = 1.0 if row < n else -1.0
            alphas = {act: torch.nan_to_num(v, nan=0.0)[None, None] for act, v in given.items()}
            value = float(backward_bound(plan, target, A, found.boxes, alphas))
            # the box is the better of that bound and plain CROWN's
            crown = found.crown[target]
            plain = float(crown.lower[0, row]) if row < n else -float(crown.upper[0, row - n])
            expected = max(value, plain)
            got = float(box.lower[0, row]) if row < n else -float(box.upper[0, row - n])
            assert abs(got - expected) <= 1e-9 * (1 + abs(got)), (name, row, got, expected)
            checked += 1
    assert checked > 0


def test_final_alpha_bound_from_the_tighter_boxes_stays_below_the_exact_minimum():
    layers, graph, plan, domains, lower, upper = _setup(7, [3, 8, 8, 8, 1], 0.8)
    found = optimised_boxes(plan, domains, iterations=30, lr=0.2)
    C = torch.ones(1, 1, 1, dtype=torch.float64)
    alphas = initial_alphas(plan, found.boxes, 1)
    best, _ = optimise(plan, found.boxes, C.reshape(1, 1, 1), torch.zeros(1, 1, dtype=torch.float64), alphas, 30, 0.2)
    exact = exact_min(layers, lower, upper, np.ones(1))
    assert float(best) <= exact + TOL * (1 + abs(exact))


@pytest.mark.parametrize("activation", ["Sigmoid", "Tanh"])
def test_s_shaped_boxes_tighten_every_neuron_and_contain_every_sampled_value(activation):
    """Sigmoid / Tanh inputs are optimised on every neuron (no box makes their relaxation
    exact); the boxes lie inside CROWN's and hold every pre-activation value of 20 000
    sampled inputs and the box's corners."""
    rng = np.random.default_rng(6)
    layers = [(W * 4.0, b) for W, b in random_layers(rng, [3, 8, 8, 8, 8, 1])]
    graph = load_network(onnx_bytes(layers, activation)).graph.to("cpu", torch.float64)
    plan = plan_for(graph)
    lower, upper = -np.ones(3), np.ones(3)
    domains = Domains(torch.as_tensor(lower)[None], torch.as_tensor(upper)[None])
    found = optimised_boxes(plan, domains, iterations=30, lr=0.2)
    corners = np.array(np.meshgrid(*zip(lower, upper))).reshape(3, -1).T
    x = np.concatenate([rng.uniform(lower, upper, (20_000, 3)), corners])
    squash = (lambda z: 1 / (1 + np.exp(-z))) if activation == "Sigmoid" else np.tanh
    tighter = 0
    for k, node in enumerate(plan.nonlinear):
        box, ref = found.boxes[node.inputs[0]], found.crown[node.inputs[0]]
        z = x @ layers[k][0].T + layers[k][1]
        assert np.all(z >= box.lower[0].numpy() - 1e-9) and np.all(z <= box.upper[0].numpy() + 1e-9), k
        assert torch.all(box.lower >= ref.lower - 1e-12) and torch.all(box.upper <= ref.upper + 1e-12)
        if k > 0:  # every neuron got its own pass: each row's slopes are recorded
            assert set(found.slopes[node.name]) == {n.name for n in plan.nonlinear[:k]}
            tighter += int((box.lower > ref.lower + 1e-9).sum() + (box.upper < ref.upper - 1e-9).sum())
        x = squash(z)
    assert tighter > 0


def test_past_its_deadline_it_keeps_crowns_boxes():
    """The root's time cap (`core.verifier.pipeline.ROOT_SHARE`): past the deadline no neuron
    is optimised, so every box is CROWN's and no slope is handed out; before it, α tightens."""
    _, graph, plan, domains, _, _ = _setup(3, [4, 12, 12, 12, 2], 0.5)
    crown, _ = interval_pass(plan, domains, crown_refiner(plan, budget_bytes(torch.device("cpu"), None)))
    late = optimised_boxes(plan, domains, iterations=10, deadline=time.monotonic() - 1)
    assert late.slopes == {}
    for node in plan.nonlinear:
        box, ref = late.boxes[node.inputs[0]], crown[node.inputs[0]]
        assert torch.equal(box.lower, ref.lower) and torch.equal(box.upper, ref.upper)
    early = optimised_boxes(plan, domains, iterations=10, deadline=time.monotonic() + 60)
    assert early.slopes and any(bool((early.boxes[n.inputs[0]].lower > crown[n.inputs[0]].lower + 1e-9).any())
                                for n in plan.nonlinear)


def test_a_deadline_inside_a_chunk_stops_its_steps():
    """A chunk's Adam steps can take tens of seconds on a deep network (oval21 cifar_deep_kw):
    the deadline is looked at before every step, and the chunk it stops keeps CROWN's box."""
    _, graph, plan, domains, _, _ = _setup(3, [4, 12, 12, 12, 2], 0.5)
    crown, _ = interval_pass(plan, domains, crown_refiner(plan, budget_bytes(torch.device("cpu"), None)))
    deadline = time.monotonic() + 0.3
    late_steps = []

    def slow_step() -> None:
        time.sleep(0.02)
        if time.monotonic() > deadline:
            late_steps.append(time.monotonic())

    found = optimised_boxes(plan, domains, iterations=50, interrupt=slow_step, deadline=deadline)
    assert len(late_steps) <= 1  # the step that saw the deadline pass, and none after it
    for node in plan.nonlinear:
        box, ref = found.boxes[node.inputs[0]], crown[node.inputs[0]]
        assert bool((box.lower >= ref.lower - 1e-9).all() and (box.upper <= ref.upper + 1e-9).all())
