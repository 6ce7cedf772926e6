"""The Anderson-relaxation dual solvers (core.bounds.anderson), in float64 on small ReLU
networks: the start reproduces CROWN, every iterate of every solver is below the exact MILP
optimum (with split constraints too), Big-M stays below the planet LP and Active Set goes
beyond it, the oracle's constraints hold on the network, domains bound alone or batched agree."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bounds import BoundOptions, Domains, bound
from core.bounds.anderson import SolverOptions, Unsupported, anderson_net, solve
from core.bounds.anderson.lagrangian import evaluate
from core.bounds.anderson.oracle import most_violated
from core.bounds.anderson.relaxation import relaxation
from core.bounds.anderson.start import from_backward_pass
from core.bounds.api import _intermediate
from core.bounds.beta import with_beta
from core.bounds.crown import backward_bound, spec_coefficients
from core.bounds.memory import budget_bytes
from core.bounds.plan import plan_for
from core.bounds.reference import anderson_lp, exact_milp, planet_lp
from core.model.ir import Interval
from tests.core.bounds import nets

TOL = 1e-7
SOLVERS = ("big-m", "active-set", "saddle-point")


class Problem:
    """One small network, B domains (optionally with splits on unstable neurons), specs C, d,
    CROWN's intermediate bounds and the chain's relaxation."""

    def __init__(self, model: bytes, seed: int, radius: float, batch: int = 1, split: bool = False, specs: int = 2):
        graph = nets.load(model).to("cpu", torch.float64)
        self.plain = graph
        self.graph = with_beta(graph) if split else graph
        self.plan = plan_for(self.graph)
        g = torch.Generator().manual_seed(seed)
        centre = torch.rand(batch, *graph.input_shape, dtype=torch.float64, generator=g) * 2 - 1
        lo, hi = centre - radius, centre + radius
        splits = {}
        if split:
            boxes, _ = self.boxes(Domains(lo, hi))
            for node in self.plan.nonlinear:
                pre = boxes[node.inputs[0]]
                unstable = (pre.lower < 0) & (pre.upper > 0)
                pick = torch.randint(-1, 2, pre.lower.shape, generator=g) * (torch.rand(pre.lower.shape, generator=g) < 0.3)
                splits[node.name] = (pick * unstable).to(torch.int8)
        self.domains = Domains(lo, hi, splits)
        self.C = torch.randn(1, specs, graph.output_size, dtype=torch.float64, generator=g)
        self.d = torch.zeros(1, specs, dtype=torch.float64)
        self.boxes_, self.empty = self.boxes(self.domains)
        self.net = anderson_net(self.graph)
        self.relax = relaxation(self.net, self.boxes_[self.graph.input_name],
                                {layer.relu: self.boxes_[layer.pre] for layer in self.net.layers})
        self.A = spec_coefficients(self.C, batch, self.graph.output_shape)

    def boxes(self, domains):
        return _intermediate(self.plan, domains, BoundOptions(), budget_bytes(torch.device("cpu"), None))

    def start(self, alphas=None):
        return from_backward_pass(self.plan, self.boxes_, self.A, self.relax, alphas)

    def milp(self, b: int = 0):
        inter = {n.name: _row(self.boxes_[n.inputs[0]], b) for n in self.plan.nonlinear}
        box = _row(self.domains.box, b)
        try:
            return torch.as_tensor(exact_milp(self.plain, box, inter, self.C[0].numpy(), self.d[0].numpy()))
        except RuntimeError as exc:  # splits no input satisfies: every bound holds
            assert "infeasible" in str(exc)
            return torch.full((self.C.shape[1],), float("inf"), dtype=torch.float64)

    def planet(self, b: int = 0):
        inter = {n.name: _row(self.boxes_[n.inputs[0]], b) for n in self.plan.nonlinear}
        return torch.as_tensor(planet_lp(self.plain, _row(self.domains.box, b), inter, self.C[0].numpy(), self.d[0].numpy()))


def _row(box, b):
    return Interval(box.lower[b:b + 1], box.upper[b:b + 1])


MODELS = {"fc": nets.fc_net(0, 4, [12, 12, 10], 3), "conv": nets.conv_net(2, 2, 3)}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_start_is_the_backward_pass_bound(kind):
    problem = Problem(MODELS[kind], 0, 0.3 if kind == "conv" else 0.8, batch=3)
    g = torch.Generator().manual_seed(1)
    alphas = {n.name: torch.rand(2, 3, *n.shape, dtype=torch.float64, generator=g) for n in problem.plan.activations}
    crown = backward_bound(problem.plan, problem.graph.output_name, problem.A, problem.boxes_, alphas) - problem.d.T
    value, _ = evaluate(problem.relax, problem.net.objective(problem.C, problem.d), problem.start(alphas))
    assert torch.allclose(value, crown, atol=1e-10), (value, crown)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_start_with_split_multipliers_is_no_looser(kind):
    """β-CROWN's two-channel parameters map onto the planet multipliers; the Lagrangian also
    uses the box of each stable neuron's output, so it can only be tighter."""
    problem = Problem(MODELS[kind], 3, 0.3 if kind == "conv" else 0.8, batch=3, split=True)
    g = torch.Generator().manual_seed(2)
    alphas = {n.name: torch.rand(2, 3, 2, *n.shape, dtype=torch.float64, generator=g) for n in problem.plan.activations}
    crown = backward_bound(problem.plan, problem.graph.output_name, problem.A, problem.boxes_, alphas) - problem.d.T
    value, _ = evaluate(problem.relax, problem.net.objective(problem.C, problem.d), problem.start(alphas))
    assert torch.all(value >= crown - 1e-10), (value, crown)


@st.composite
def problems(draw):
    kind = draw(st.sampled_from(["fc", "fc", "conv"]))
    seed = draw(st.integers(0, 10_000))
    if kind == "fc":
        model = nets.fc_net(seed, draw(st.integers(2, 4)), draw(st.lists(st.integers(3, 10), min_size=1, max_size=3)), 3)
    else:
        model = nets.conv_net(seed, 1, 3)
    radius = draw(st.floats(0.1, 0.3 if kind == "conv" else 1.0))
    return Problem(model, seed, radius, split=draw(st.booleans()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from(SOLVERS))
def test_every_iterate_is_below_the_milp_optimum(problem, solver):
    _assert_iterates_sound(problem, solver)


@pytest.mark.parametrize("solver", ["active-set", "saddle-point"])  # Big-M: no Anderson terms
@pytest.mark.parametrize("seed, split", [(0, False), (1, False), (2, True), (3, True)])
def test_every_iterate_is_below_the_milp_optimum_where_cuts_matter(seed, split, solver):
    """Wide boxes on a 3-layer network: many unstable neurons, so the Anderson terms move the bound."""
    _assert_iterates_sound(Problem(nets.fc_net(seed, 4, [12, 12, 10], 3), seed, 0.8, split=split, specs=3), solver)


def _assert_iterates_sound(problem, solver):
    milp = problem.milp()
    seen = []
    options = SolverOptions(iterations=60, cut_every=5)
    best, duals = solve(solver, problem.relax, problem.net.objective(problem.C, problem.d), problem.start(), options,
                        trace=lambda step, seconds, value: seen.append(value[:, 0].clone()))
    assert len(seen) == 61
    for value in seen:
        assert torch.all((value <= milp + TOL) | problem.empty[0]), (solver, value, milp)
    # the returned multipliers give back the returned bound
    again, _ = evaluate(problem.relax, problem.net.objective(problem.C, problem.d), duals)
    assert torch.allclose(again, best, atol=1e-9) or bool(problem.empty[0])


def test_big_m_stays_within_the_planet_lp_and_active_set_goes_beyond():
    problem = Problem(MODELS["fc"], 0, 0.8)
    objective = problem.net.objective(problem.C, problem.d)
    planet, milp = problem.planet(), problem.milp()
    big_m, _ = solve("big-m", problem.relax, objective, problem.start(), SolverOptions(iterations=100))
    active, _ = solve("active-set", problem.relax, objective, problem.start(), SolverOptions(iterations=100))
    assert torch.all(big_m[:, 0] <= planet + 1e-6), (big_m, planet)
    assert torch.all(active[:, 0] > planet + 1e-3), (active, planet)
    assert torch.all(active[:, 0] <= milp + TOL), (active, milp)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_oracle_constraints_hold_on_the_network(kind):
    """Whatever point the oracle is asked about, the constraint it returns holds for every
    input of the box: x_k ≤ Σ_I w (x_i − Ľ(1 − z)) + (Σ_not I w Û + b) z with z the phase."""
    problem = Problem(MODELS[kind], 5, 0.3 if kind == "conv" else 0.8)
    g = torch.Generator().manual_seed(7)
    n = 400
    lo, hi = problem.domains.lower, problem.domains.upper
    x = (lo + (hi - lo) * torch.rand(n, *lo.shape[1:], dtype=torch.float64, generator=g))
    boxes = {problem.graph.input_name: x}
    for node in problem.graph.nodes:
        boxes[node.name] = node.op.forward(*(boxes[i] for i in node.inputs))
    src_values = boxes[problem.net.x0].flatten(1)
    for layer, bounds in zip(problem.net.layers, problem.relax.layers):
        # ask the oracle about random points: its masks are then arbitrary subsets
        ask_src = torch.rand(1, 1, layer.dense.shape[1], dtype=torch.float64, generator=g)
        ask_x = torch.rand(1, 1, layer.size, dtype=torch.float64, generator=g)
        ask_z = torch.rand(1, 1, layer.size, dtype=torch.float64, generator=g)
        mask, _ = most_violated(layer, bounds, ask_src, ask_x, ask_z)
        pre = boxes[layer.pre].flatten(1)
        post = boxes[layer.relu].flatten(1)
        z = (pre >= 0).to(torch.float64)
        inputs = layer.gather(src_values)  # [n, m, K]
        wL, wU = bounds.wL[0], bounds.wL[0] - bounds.wD[0]
        inside = layer.w * inputs - wL * (1 - z.unsqueeze(-1))
        right = torch.where(mask[0, 0], inside, wU * z.unsqueeze(-1)).sum(-1) + layer.b * z
        assert torch.all(post <= right + 1e-9), (post - right).max()
        src_values = post


def test_batched_domains_bound_as_they_do_alone():
    problem = Problem(MODELS["fc"], 4, 0.6, batch=4)
    together = bound(problem.graph, problem.domains, problem.C, problem.d, "active-set", BoundOptions(dual_iterations=20))
    for b in range(4):
        alone = bound(problem.graph, problem.domains.index(slice(b, b + 1)), problem.C, problem.d, "active-set",
                      BoundOptions(dual_iterations=20))
        assert torch.allclose(together.lower[b], alone.lower[0], atol=1e-9)


def test_dual_methods_never_fall_below_alpha_crown():
    problem = Problem(MODELS["conv"], 6, 0.25, batch=2)
    alpha = bound(problem.graph, problem.domains, problem.C, problem.d, "alpha").lower
    for solver in SOLVERS:
        dual = bound(problem.graph, problem.domains, problem.C, problem.d, solver, BoundOptions(dual_iterations=10)).lower
        assert torch.all(dual >= alpha - 1e-12), solver


@pytest.mark.parametrize("model, reason", [(nets.residual_net(1, 3, 4, 2), "affine function of the previous ReLU"),
                                           (nets.fc_net(1, 3, [4], 2, "Sigmoid"), "ReLU only")],
                         ids=["residual", "sigmoid"])
def test_networks_outside_the_chain_form_are_refused_with_the_reason(model, reason):
    graph = nets.load(model)
    domains = Domains(torch.zeros(1, *graph.input_shape, dtype=torch.float64), torch.ones(1, *graph.input_shape, dtype=torch.float64))
    with pytest.raises(Unsupported, match=reason):
        bound(graph, domains, torch.eye(graph.output_size, dtype=torch.float64)[None], torch.zeros(1, graph.output_size,
              dtype=torch.float64), "active-set")


def test_interrupt_stops_the_solver():
    problem = Problem(MODELS["fc"], 0, 0.8)
    calls = []

    def interrupt():
        calls.append(1)
        if len(calls) > 3:
            raise TimeoutError("stop")

    with pytest.raises(TimeoutError):
        solve("active-set", problem.relax, problem.net.objective(problem.C, problem.d), problem.start(),
              SolverOptions(iterations=50), interrupt)
    assert len(calls) == 4


def test_active_set_resumes_from_anderson_multipliers():
    """A start that already holds Anderson multipliers (a parent's) keeps them as a cut of
    fractional mask: the resumed solve starts at that bound and stays below the MILP."""
    problem = Problem(MODELS["fc"], 1, 0.8, specs=3)
    objective = problem.net.objective(problem.C, problem.d)
    first, duals = solve("active-set", problem.relax, objective, problem.start(), SolverOptions(iterations=40))
    assert any(bool((c > 0).any()) for c in duals.cut)
    seen = []
    again, _ = solve("active-set", problem.relax, objective, duals, SolverOptions(iterations=40),
                     trace=lambda step, seconds, value: seen.append(value.clone()))
    assert torch.allclose(seen[0], first, atol=1e-9)
    assert torch.all(again >= first - 1e-12)
    assert torch.all(again[:, 0] <= problem.milp() + TOL)


@pytest.mark.parametrize("kind, seed, split", [("fc", 0, False), ("fc", 7, True), ("conv", 7, False)])
def test_active_set_stays_below_the_anderson_lp_optimum(kind, seed, split):
    """Weak duality against the exact reference: planet LP − tol ≤ Active Set ≤ Anderson LP ≤ MILP,
    the Anderson LP solved to optimality by cutting planes (HiGHS and its own float64 oracle)."""
    problem = Problem(MODELS[kind], seed, 0.25 if kind == "conv" else 0.8, split=split)
    inter = {n.name: _row(problem.boxes_[n.inputs[0]], 0) for n in problem.plan.nonlinear}
    exact = anderson_lp(problem.plain, _row(problem.domains.box, 0), inter, problem.C[0].numpy(), problem.d[0].numpy())
    assert np.all(exact.converged)
    value = torch.as_tensor(exact.value)
    active, _ = solve("active-set", problem.relax, problem.net.objective(problem.C, problem.d), problem.start(),
                      SolverOptions(iterations=100))
    assert torch.all(active[:, 0] <= value + 1e-6), (active, value)
    assert torch.all(problem.planet() - 1e-6 <= value) and torch.all(value <= problem.milp() + 1e-6)
