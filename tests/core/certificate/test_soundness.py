"""The checker's leaf bounds never exceed the exact minimum (MILP), whatever the parameters."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from core.certificate.leaf import leaf_lower_bounds, network_boxes
from core.certificate.network import chain_of
from core.certificate.soundness import forward, relu_lines
from core.certificate.tree import Domains
from core.spec.property import Conjunction
from tests.core.certificate.nets import exact_min, forward as net_forward, onnx_bytes, random_layers

SIZES = [3, 6, 6, 2]


def _phases_at(layers, x: np.ndarray, rng) -> dict[tuple[int, int], int]:
    """Three neurons fixed to the phase they take at x (so the leaf holds inputs)."""
    phases, h = {}, x
    for i, (W, b) in enumerate(layers[:-1]):
        z = W @ h + b
        for j in rng.choice(len(z), 2 if i == 0 else 1, replace=False):
            phases[(i, int(j))] = 1 if z[j] >= 0 else -1
        h = np.maximum(z, 0)
    return phases


def _leaf(lower, upper, phases: dict[tuple[int, int], int]) -> Domains:
    active = {f"relu{i}": np.zeros((1, n), bool) for i, n in enumerate(SIZES[1:-1])}
    inactive = {f"relu{i}": np.zeros((1, n), bool) for i, n in enumerate(SIZES[1:-1])}
    for (i, j), s in phases.items():
        (active if s > 0 else inactive)[f"relu{i}"][0, j] = True
    return Domains(lower[None], upper[None], active, inactive)


def _random_parameters(rng, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Slopes far outside [0, 1], huge or negative multipliers: all must stay sound."""
    params = {"rows": rows}
    for i, n in enumerate(SIZES[1:-1]):
        params[f"alpha:relu{i}"] = rng.uniform(-3, 4, (1, rows.shape[1], n))
        params[f"beta:relu{i}"] = rng.choice([0.0, 1.0, 50.0, -5.0], (1, rows.shape[1], n)) * rng.uniform(0, 1, (1, rows.shape[1], n))
    return params


@pytest.mark.parametrize("seed", range(12))
def test_leaf_bound_never_exceeds_the_exact_minimum_for_any_parameters(seed):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, SIZES)
    chain = chain_of(onnx.load_model_from_string(onnx_bytes(layers)))
    C = rng.normal(size=(2, SIZES[-1]))
    d = rng.normal(0, 0.3, 2)
    lower = rng.uniform(-1, 0, SIZES[0])
    upper = lower + rng.uniform(0.1, 1.5, SIZES[0])
    phases = _phases_at(layers, rng.uniform(lower, upper), rng) if seed % 4 else \
        {(int(rng.integers(2)), int(rng.integers(6))): int(rng.choice([-1, 1])) for _ in range(2)}
    domains = _leaf(lower, upper, phases)
    conjunction = Conjunction(C, d)
    # the exact min over the leaf of max_i (C_i·y - d_i): the disjunct is refuted iff it is > 0
    exact = exact_min(layers, domains.lower[0], domains.upper[0], C, phases, d)
    boxes = network_boxes(chain, domains)
    for trial in range(4):
        identity = leaf_lower_bounds(chain, conjunction, boxes, _random_parameters(rng, np.eye(2)[None]))[0]
        convex = leaf_lower_bounds(chain, conjunction, boxes, _random_parameters(rng, rng.dirichlet([1, 1], (1, 3))))[0]
        assert identity <= exact + 1e-9 and convex <= exact + 1e-9, (trial, identity, convex, exact)
        signed = leaf_lower_bounds(chain, conjunction, boxes, _random_parameters(rng, rng.uniform(-1, 2, (1, 2, 2))))[0]
        assert signed <= 0 or exact > 0, (trial, signed, exact)


def test_defaults_are_tight_on_a_box_that_fixes_every_phase():
    """With every neuron stable the relaxation is exact: the bound meets the MILP closely."""
    rng = np.random.default_rng(5)
    layers = random_layers(rng, SIZES)
    chain = chain_of(onnx.load_model_from_string(onnx_bytes(layers)))
    x = rng.uniform(-1, 1, SIZES[0])
    domains = Domains((x - 1e-6)[None], (x + 1e-6)[None],
                          {f"relu{i}": np.zeros((1, n), bool) for i, n in enumerate(SIZES[1:-1])},
                          {f"relu{i}": np.zeros((1, n), bool) for i, n in enumerate(SIZES[1:-1])})
    c = np.array([[1.0, -1.0]])
    lb = leaf_lower_bounds(chain, Conjunction(c, np.zeros(1)), network_boxes(chain, domains), {"rows": np.eye(1)[None]})[0]
    value = float(c[0] @ net_forward(layers, x))
    assert value - 1e-4 < lb <= value


def test_relu_upper_line_holds_at_both_ends_for_awkward_boxes():
    rng = np.random.default_rng(0)
    lo = -10.0 ** rng.uniform(-300, 300, 2000)
    hi = 10.0 ** rng.uniform(-300, 300, 2000)
    _, uw, ub = relu_lines(lo, hi, None)
    assert np.all(uw * lo + ub >= 0) and np.all(uw * hi + ub >= hi)


def test_interval_ends_move_outward():
    from core.certificate.network import Scale

    lo, hi = np.array([[0.1, -0.3]]), np.array([[0.7, 0.2]])
    out_lo, out_hi = forward(Scale(np.array([3.0, 1 / 3]), divide=True), lo, hi)
    assert np.all(out_lo < lo / np.array([3.0, 1 / 3])) and np.all(out_hi > hi / np.array([3.0, 1 / 3]))


def _relu_of_identity_bound(z_lo: float, beta: float | None) -> float:
    """The checker's lower bound of relu(z), z = x, x in [-1, 1], with z's box [z_lo, 1]
    (as splits or earlier bounds leave it) and split multiplier `beta` on z."""
    from core.certificate.leaf import lines
    from core.certificate.network import Linear, Relu
    from core.certificate.soundness import backward

    steps = [Linear(np.eye(1), np.zeros(1)), Relu("r")]
    boxes = [(np.array([[-1.0]]), np.array([[1.0]])), (np.array([[z_lo]]), np.array([[1.0]]))]
    relax = {1: lines(steps[1], boxes[1][0][:, None, :], boxes[1][1][:, None, :], None)}
    multipliers = {} if beta is None else {1: np.full((1, 1, 1), beta)}
    return float(backward(steps, boxes, np.ones((1, 1, 1)), 2, relax, multipliers)[0, 0])


def test_beta_uses_the_sign_a_box_misses_by_rounding_and_pays_for_it():
    """A verifier's box rounded to nearest proves z >= 0 (lower bound 0.0); the checker's,
    rounded outward, says -8e-14: β must still multiply z >= -8e-14, else the leaf loses
    the split's whole worth (planted fc24 decoy0: a valid unsat's certificate was refused)."""
    assert _relu_of_identity_bound(0.0, None) == pytest.approx(-1.0)  # CROWN alone back-substitutes to x >= -1
    assert -1e-12 < _relu_of_identity_bound(0.0, 1.0) <= 0.0  # the split closes it
    missed = _relu_of_identity_bound(-8e-14, 1.0)
    assert -1e-12 < missed <= -8e-14  # β·|lo| charged: still a bound of min relu(z) = 0 over z >= -8e-14
    # a box far from proving a sign: β has nothing to multiply
    assert _relu_of_identity_bound(-0.1, 1.0) == pytest.approx(_relu_of_identity_bound(-0.1, None), abs=1e-12)
