"""The checker's relaxation of Sigmoid and Tanh (core/certificate/sshaped.py), on both:

- their values are within the rounding allowance the bounds assume;
- the lines hold on [l, u] for any slope (also out of range) and any tangent-point
  parameter, checked in 60-digit arithmetic where they come closest to f and in float64 on
  a dense grid; and they touch f up to rounding (the intercept is the extreme of
  f(x) - a x, not a loose bound);
- a verifier's α-CROWN proof and its input-splitting proof on small random networks are
  accepted, and the α proof needs its evidence;
- forged tangent points cannot prove a violated property, and a changed weight is noticed.
"""

from __future__ import annotations

import copy
import functools

import mpmath
import numpy as np
import pytest
import torch

from core.bab.bounding import bound_domains
from core.certificate import check, network_digest, property_digest, sshaped
from core.certificate.network import Sigmoid, Tanh
from core.certificate.soundness import FN_ERR, TINY, s_image
from core.certificate.sshaped import lines_with_slopes, s_lines
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.certify import certificate_of, certify
from tests.core.certificate.nets import onnx_bytes, one_row_property, random_layers

mpmath.mp.dps = 60
EXACT = {"Sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)), "Tanh": mpmath.tanh}
SLOPE = {"Sigmoid": lambda x: EXACT["Sigmoid"](x) * EXACT["Sigmoid"](-x), "Tanh": lambda x: 1 / mpmath.cosh(x) ** 2}
STEPS = {"Sigmoid": Sigmoid("s"), "Tanh": Tanh("t")}
# per activation: the seed of the random intervals, of the α-proved network, of the input-split one
SEEDS = {"Sigmoid": (0, 1, 7), "Tanh": (5, 4, 8)}
BOX = (-0.5 * np.ones(4), 0.5 * np.ones(4), np.array([1.0, -1.0]))  # inputs, and c: c·y <= d is unsafe
each = pytest.mark.parametrize("activation", ["Sigmoid", "Tanh"])


@each
def test_values_are_within_the_rounding_allowance(activation):
    step = STEPS[activation]
    rng = np.random.default_rng(SEEDS[activation][0])
    x = np.concatenate([rng.uniform(-40, 40, 2000), [-800.0, -1e-300, 0.0, 1e-9, 800.0]])
    for computed, exact in ((step.f(x), EXACT[activation]), (step.df(x), SLOPE[activation])):
        error = np.array([abs(mpmath.mpf(c) - exact(mpmath.mpf(v))) for c, v in zip(computed, x)], dtype=float)
        assert np.all(error <= FN_ERR * np.abs(computed) + TINY)
    lo, hi = s_image(step, x[None, :-1], x[None, 1:])
    assert np.all(lo <= step.f(x[:-1])) and np.all(step.f(x[1:]) <= hi)


@each
def test_lines_hold_for_any_slope_and_touch_the_function(activation):
    step = STEPS[activation]
    rng = np.random.default_rng(SEEDS[activation][0])
    lo, hi = _intervals(rng, 400)
    slopes = rng.uniform(-0.5 * step.peak, 1.5 * step.peak, (2, len(lo)))  # out of range included
    slopes[:, :20], slopes[:, 20:40] = 0.0, step.peak
    alpha = rng.choice([np.nan, -1.0, 0.0, 0.5, 1.0, 3.0, rng.uniform()], len(lo))
    for lw, lb, uw, ub in (lines_with_slopes(step, slopes[0], slopes[1], lo, hi), s_lines(step, lo, hi, alpha)):
        x = lo[:, None] + np.linspace(0, 1, 257)[None, :] * (hi - lo)[:, None]
        fx = step.f(x)
        assert np.all(lw[:, None] * x + lb[:, None] <= fx) and np.all(fx <= uw[:, None] * x + ub[:, None])
        for w, b, side in ((lw, lb, 1), (uw, ub, -1)):
            closest = np.min([_gaps(activation, w, b, at, side) for at in _closest_points(step, w, lo, hi)], axis=0)
            assert np.all(closest >= 0), closest.min()
            # tight: the line touches f up to the rounding allowance (|f| <= 1, |a x| <= 30 peak)
            assert np.all(closest <= 1e-11 * (1 + 30 * step.peak)), closest.max()


@each
def test_a_memoised_box_part_is_that_box_s_own(activation):
    """The bisection's result is reused by the box's digest: boxes of one shape never swap
    results, and what comes back equals a fresh computation."""
    step = STEPS[activation]
    lo, hi = _intervals(np.random.default_rng(SEEDS[activation][0]), 300)
    boxes = [(lo, hi), (lo - 0.5, hi + 0.25), (lo[::-1].copy(), hi[::-1].copy()), (lo, hi)]
    for l, u in boxes:
        for reflect in (False, True):
            for memoised, fresh in zip(sshaped._box_part(step, reflect, l, u), sshaped._box_part_of(step, reflect, l, u)):
                np.testing.assert_array_equal(memoised, fresh)
    first, again = (s_lines(step, l, u, np.full(l.shape, 0.3)) for l, u in (boxes[0], boxes[3]))
    second = s_lines(step, *boxes[1], np.full(lo.shape, 0.3))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], second[1])


@each
def test_an_alpha_crown_proof_checks_and_needs_its_evidence(activation):
    data, prop, network, result = _alpha_proof(activation)
    certified = certify(network, prop, result)
    assert certified.check.valid, certified.check.reason
    assert set(certified.certificate.targets[0].alpha) == {f"{activation.lower()}0", f"{activation.lower()}1"}
    # the checker's default tangent points are CROWN's, which do not prove it: the evidence does
    bare = copy.deepcopy(certified.certificate)
    bare.targets[0].alpha = {}
    assert not check(data, prop, bare).valid


@each
def test_forged_tangent_points_cannot_prove_a_violated_property(activation):
    data, prop, network, result = _alpha_proof(activation)
    y = network.graph.forward(torch.zeros(1, 4, dtype=torch.float64)).flatten().numpy()
    violated = one_row_property(BOX[0], BOX[1], BOX[2], y[0] - y[1] + 0.01)  # the box centre reaches it
    forged = certificate_of(network, prop, result)
    forged.property_sha256 = property_digest(violated)
    rng = np.random.default_rng(0)
    for trial in range(12):
        for value in forged.targets[0].alpha.values():
            value[...] = rng.choice([-5.0, 0.0, 1.0, 7.0, np.nan]) if trial < 4 else rng.uniform(-1, 2, value.shape)
        outcome = check(data, violated, forged)
        assert not outcome.valid and "not > 0" in outcome.reason, outcome.reason


@each
def test_a_changed_weight_is_rejected(activation):
    """One bias of the last layer moved so that the box centre violates the property: the
    certificate no longer matches the network, and re-bound to it, its leaf no longer holds."""
    _, prop, network, result = _alpha_proof(activation)
    certificate = certificate_of(network, prop, result)
    layers = _network(activation, SEEDS[activation][1])[0]
    y = network.graph.forward(torch.zeros(1, 4, dtype=torch.float64)).flatten().numpy()
    W, b = layers[-1]
    b = b.copy()
    b[0] -= (y[0] - y[1]) - float(prop.regions[0].unsafe[0].d[0]) + 0.1  # c·y at the centre drops to d - 0.1
    tampered = onnx_bytes(layers[:-1] + [(W, b.astype(np.float32).astype(np.float64))], activation)
    outcome = check(tampered, prop, certificate)
    assert not outcome.valid and "another network" in outcome.reason
    certificate.network_sha256 = network_digest(tampered)
    outcome = check(tampered, prop, certificate)
    assert not outcome.valid and "not > 0" in outcome.reason, outcome.reason


@each
def test_an_input_splitting_proof_checks(activation):
    """d halfway between the α bound and the least c·y on a 9^4 grid: branch and bound over
    the input (the default for 4 inputs) proves it, and its certificate checks."""
    _, data = _network(activation, SEEDS[activation][2])
    network = load_network(data)
    grid = np.stack(np.meshgrid(*[np.linspace(-0.5, 0.5, 9)] * 4), -1).reshape(-1, 4)
    least = float((network.graph.forward(torch.tensor(grid)).reshape(len(grid), -1).numpy() @ BOX[2]).min())
    prop = one_row_property(*BOX, (_bounds(data)[1] + least) / 2)
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu", threads=1))
    assert result.verdict is Verdict.UNSAT and result.certificate["targets"][0]["closed_by"] == "bab", result.message
    certified = certify(network, prop, result)
    assert certified.check.valid and certified.certificate.targets[0].n_leaves > 2, certified.check.reason


def _intervals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n intervals inside [-30, 30]: crossing 0, one-sided, and widths from 1e-13 to 60."""
    centre = rng.uniform(-30, 30, n)
    width = 10.0 ** rng.uniform(-13, np.log10(60), n)
    lo = np.clip(centre - width * rng.uniform(0, 1, n), -30, 30)
    hi = np.clip(lo + width, -30, 30)
    crossing = rng.uniform(size=n) < 0.3
    lo[crossing], hi[crossing] = -rng.uniform(0, 30, crossing.sum()), rng.uniform(0, 30, crossing.sum())
    return lo, hi


def _closest_points(step, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Where a line of slope a comes closest to f on [lo, hi]: the ends, 0, and where f' = a."""
    with np.errstate(divide="ignore"):
        x = step.stretch * np.arctanh(np.sqrt(np.clip(1 - a / step.peak, 0, 1)))
    return [lo, hi, np.clip(0.0, lo, hi), np.clip(x, lo, hi), np.clip(-x, lo, hi)]


def _gaps(activation: str, w, b, x, side: int) -> np.ndarray:
    """side * (f(x) - (w x + b)) in 60 digits (>= 0 where the line holds)."""
    f = EXACT[activation]
    return np.array([float(side * (f(mpmath.mpf(xi)) - mpmath.mpf(wi) * mpmath.mpf(xi) - mpmath.mpf(bi)))
                     for xi, wi, bi in zip(x, w, b)])


def _network(activation: str, seed: int) -> tuple[list, bytes]:
    layers = random_layers(np.random.default_rng(seed), [4, 10, 10, 2])
    return layers, onnx_bytes(layers, activation)


def _bounds(data: bytes) -> tuple[float, float]:
    """The verifier's CROWN and α-CROWN lower bounds of c·y over the box."""
    graph = load_network(data).graph
    args = (torch.tensor(BOX[0])[None], torch.tensor(BOX[1])[None], torch.tensor(BOX[2])[None, None], torch.zeros(1, 1))
    return tuple(float(bound_domains(graph, *args, method).lb) for method in ("crown", "alpha"))


@functools.cache
def _alpha_proof(activation: str):
    """(onnx bytes, property, network, verify result): c·y <= d unsafe with d between the
    CROWN and the α-CROWN bound, so that only α proves it (tests copy what they change)."""
    _, data = _network(activation, SEEDS[activation][1])
    crown, alpha = _bounds(data)
    assert alpha > crown + 1e-3, (crown, alpha)
    prop = one_row_property(*BOX, (crown + alpha) / 2)
    network = load_network(data)
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu", threads=1, branching="none"))
    assert result.verdict is Verdict.UNSAT and result.certificate["targets"][0]["closed_by"] == "alpha"
    return data, prop, network, result
