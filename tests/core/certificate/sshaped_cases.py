"""What test_sigmoid.py and test_tanh.py check, for either S-shaped step of the checker.

- the lines of `core.certificate.sshaped` hold on [l, u] for any slope (also out of range)
  and any tangent-point parameter, checked in 60-digit arithmetic at the points where they
  come closest to f, and in float64 on a dense grid; and they touch f up to rounding (the
  intercept is the extreme of f(x) - a x, not a loose bound);
- a verifier's α-CROWN proof on a small random network is accepted, and needs its evidence;
- forged parameters cannot prove a violated property, and a changed weight is noticed.
"""

from __future__ import annotations

import copy

import mpmath
import numpy as np
import torch

from core.bab.bounding import bound_domains
from core.certificate import check, network_digest, property_digest
from core.certificate.network import SShaped
from core.certificate.sshaped import lines_with_slopes, s_lines
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.certify import certificate_of, certify
from tests.core.certificate.nets import onnx_bytes, one_row_property, random_layers

mpmath.mp.dps = 60
EXACT = {"Sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)), "Tanh": mpmath.tanh}


def random_intervals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n intervals inside [-30, 30]: crossing 0, one-sided, and widths from 1e-13 to 60."""
    centre = rng.uniform(-30, 30, n)
    width = 10.0 ** rng.uniform(-13, np.log10(60), n)
    lo = np.clip(centre - width * rng.uniform(0, 1, n), -30, 30)
    hi = np.clip(lo + width, -30, 30)
    crossing = rng.uniform(size=n) < 0.3
    lo[crossing], hi[crossing] = -rng.uniform(0, 30, crossing.sum()), rng.uniform(0, 30, crossing.sum())
    return lo, hi


def assert_lines_sound_and_tight(step: SShaped, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lo, hi = random_intervals(rng, 400)
    n = len(lo)
    # slopes anywhere, out of range included; and the verifier's, from any tangent-point parameter
    slopes = rng.uniform(-0.5 * step.peak, 1.5 * step.peak, (2, n))
    slopes[:, :20] = 0.0
    slopes[:, 20:40] = step.peak
    alpha = rng.choice([np.nan, -1.0, 0.0, 0.5, 1.0, 3.0, rng.uniform()], n)
    for lw, lb, uw, ub in (lines_with_slopes(step, slopes[0], slopes[1], lo, hi), s_lines(step, lo, hi, alpha)):
        # float64 on a dense grid (endpoints included)
        x = lo[:, None] + np.linspace(0, 1, 257)[None, :] * (hi - lo)[:, None]
        fx = step.f(x)
        assert np.all(lw[:, None] * x + lb[:, None] <= fx) and np.all(fx <= uw[:, None] * x + ub[:, None])
        # exactly, where the lines come closest: the ends, 0 and the points where f' is the slope
        for w, b, side in ((lw, lb, 1), (uw, ub, -1)):
            gaps = [_gaps(step, w, b, lo, hi, x_, side) for x_ in _candidates(step, w, lo, hi)]
            closest = np.min(gaps, axis=0)
            assert np.all(closest >= 0), closest.min()
            # tight: the line touches f up to the rounding allowance (|f| <= 1, |a x| <= 30 peak)
            assert np.all(closest <= 1e-11 * (1 + 30 * step.peak)), closest.max()


def _candidates(step: SShaped, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    with np.errstate(divide="ignore"):
        x = step.stretch * np.arctanh(np.sqrt(np.clip(1 - a / step.peak, 0, 1)))
    return [lo, hi, np.clip(0.0, lo, hi), np.clip(x, lo, hi), np.clip(-x, lo, hi)]


def _gaps(step: SShaped, w, b, lo, hi, x, side: int) -> np.ndarray:
    """side * (f(x) - (w x + b)) in 60 digits (>= 0 where the line holds)."""
    f = EXACT[type(step).__name__]
    return np.array([float(side * (f(mpmath.mpf(xi)) - mpmath.mpf(wi) * mpmath.mpf(xi) - mpmath.mpf(bi)))
                     for xi, wi, bi in zip(x, w, b)])


def small_network(activation: str, seed: int) -> tuple[list, bytes]:
    layers = random_layers(np.random.default_rng(seed), [4, 10, 10, 2])
    return layers, onnx_bytes(layers, activation)


def _bounds(data: bytes, lower, upper, c) -> tuple[float, float]:
    """The verifier's CROWN and α-CROWN lower bounds of c·y over the box."""
    graph = load_network(data).graph
    args = (torch.tensor(lower)[None], torch.tensor(upper)[None], torch.tensor(c)[None, None], torch.zeros(1, 1))
    return tuple(float(bound_domains(graph, *args, method).lb) for method in ("crown", "alpha"))


def alpha_proof(activation: str, seed: int):
    """(onnx bytes, property, certified result): c·y <= d unsafe with d between the CROWN
    and the α-CROWN bound, so that only α proves it."""
    layers, data = small_network(activation, seed)
    lower, upper, c = -0.5 * np.ones(4), 0.5 * np.ones(4), np.array([1.0, -1.0])
    crown, alpha = _bounds(data, lower, upper, c)
    assert alpha > crown + 1e-3, (crown, alpha)
    prop = one_row_property(lower, upper, c, (crown + alpha) / 2)
    network = load_network(data)
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu", threads=1, branching="none"))
    assert result.verdict is Verdict.UNSAT and result.certificate["targets"][0]["closed_by"] == "alpha"
    return data, prop, network, result


def assert_alpha_proof_checks(activation: str, seed: int) -> None:
    data, prop, network, result = alpha_proof(activation, seed)
    certified = certify(network, prop, result)
    assert certified.check.valid, certified.check.reason
    names = set(certified.certificate.targets[0].alpha)
    assert names == {f"{activation.lower()}0", f"{activation.lower()}1"}
    # the checker's default slopes are CROWN's, which do not prove it: the evidence does
    bare = copy.deepcopy(certified.certificate)
    bare.targets[0].alpha = {}
    assert not check(data, prop, bare).valid


def assert_forgeries_rejected(activation: str, seed: int) -> None:
    """A violated property (the box centre reaches c·y <= d) with certificates whose
    tangent points are random, extreme, or hill-climbed on the checker's own bound."""
    data, prop, network, result = alpha_proof(activation, seed)
    y = network.graph.forward(torch.zeros(1, 4, dtype=torch.float64)).flatten().numpy()
    violated = one_row_property(prop.regions[0].box.lower, prop.regions[0].box.upper, [1.0, -1.0], y[0] - y[1] + 0.01)
    forged = certificate_of(network, prop, result)
    forged.property_sha256 = property_digest(violated)
    rng = np.random.default_rng(seed)
    target = forged.targets[0]
    for trial in range(12):
        for name, value in target.alpha.items():
            value[...] = rng.choice([-5.0, 0.0, 1.0, 7.0, np.nan]) if trial < 4 else rng.uniform(-1, 2, value.shape)
        outcome = check(data, violated, forged)
        assert not outcome.valid and "not > 0" in outcome.reason, outcome.reason


def assert_changed_weight_rejected(activation: str, seed: int) -> None:
    """One bias of the last layer moved so that the box centre violates the property: the
    certificate no longer matches the network, and re-bound to it, its leaf no longer holds."""
    data, prop, network, result = alpha_proof(activation, seed)
    certificate = certificate_of(network, prop, result)
    layers, _ = small_network(activation, seed)
    y = network.graph.forward(torch.zeros(1, 4, dtype=torch.float64)).flatten().numpy()
    d = float(prop.regions[0].unsafe[0].d[0])
    W, b = layers[-1]
    b = b.copy()
    b[0] -= (y[0] - y[1]) - d + 0.1  # c = (1, -1): c·y at the centre drops to d - 0.1
    tampered = onnx_bytes(layers[:-1] + [(W, b.astype(np.float32).astype(np.float64))], activation)
    outcome = check(tampered, prop, certificate)
    assert not outcome.valid and "another network" in outcome.reason
    rebound = copy.deepcopy(certificate)
    rebound.network_sha256 = network_digest(tampered)
    outcome = check(tampered, prop, rebound)
    assert not outcome.valid and "not > 0" in outcome.reason, outcome.reason


def assert_input_split_proof_checks(activation: str, seed: int) -> None:
    """d halfway between the α bound and the least c·y on a 9^4 grid: branch and bound over
    the input (the default for 4 inputs) proves it, and its certificate checks."""
    _, data = small_network(activation, seed)
    lower, upper, c = -0.5 * np.ones(4), 0.5 * np.ones(4), np.array([1.0, -1.0])
    network = load_network(data)
    grid = np.stack(np.meshgrid(*[np.linspace(-0.5, 0.5, 9)] * 4), -1).reshape(-1, 4)
    least = float((network.graph.forward(torch.tensor(grid)).reshape(len(grid), -1).numpy() @ c).min())
    _, alpha = _bounds(data, lower, upper, c)
    prop = one_row_property(lower, upper, c, (alpha + least) / 2)
    result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu", threads=1))
    assert result.verdict is Verdict.UNSAT and result.certificate["targets"][0]["closed_by"] == "bab", result.message
    certified = certify(network, prop, result)
    assert certified.check.valid and certified.certificate.targets[0].n_leaves > 2, certified.check.reason
