"""Root slopes: a certificate whose root boxes come from α-CROWN intermediate bounds
(`core.bounds.intermediate_alpha`) carries their slopes once per region (ReLU: lower
slopes; Sigmoid: tangent points); the checker re-derives the boxes from them, so a proof
that needs those boxes checks with them and fails without them, and no slopes, however
forged, prove a violated property."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from core.bounds.alpha import initial_alphas, optimise
from core.bounds.domains import Domains
from core.bounds.intermediate_alpha import optimised_boxes
from core.bounds.plan import plan_for
from core.certificate import Certificate, CertificateBuilder, check, property_digest
from core.model import load_network
from core.model.operator import Activation
from core.model.ops.relu import Relu
from tests.core.certificate.nets import exact_min, onnx_bytes, one_row_property, random_layers

SIZES = [3, 8, 8, 8, 8, 1]
# (activation, weight scale, seed) of nets that need the tighter boxes: final bounds -1.70
# from them against -2.89 from CROWN's (ReLU), -0.35 against -1.19 (Sigmoid)
NETS = {"Relu": (1.0, 13), "Sigmoid": (4.0, 6)}


def _final_alpha(plan, boxes):
    """α-CROWN on y (one output) over `boxes`: the bound and its slopes [1, size] per ReLU."""
    A = torch.ones(1, 1, 1, dtype=torch.float64)
    zero = torch.zeros(1, 1, dtype=torch.float64)
    best, params = optimise(plan, boxes, A, zero, initial_alphas(plan, boxes, 1), 40, 0.2)
    return float(best), {name: v[:, 0].reshape(1, -1).numpy() for name, v in params.items()}


@pytest.fixture(scope="module", params=sorted(NETS))
def needs_root_slopes(request):
    """(onnx bytes, layers, box, certificate builder inputs): a deep narrow net whose output is
    bounded above 0 by α-CROWN from the α-tightened root boxes but not from CROWN's."""
    scale, seed = NETS[request.param]
    rng = np.random.default_rng(seed)
    layers = [(W * scale, b) for W, b in random_layers(rng, SIZES)]  # a power of 2: still float32
    data = onnx_bytes(layers, request.param)
    network = load_network(data)
    graph = network.graph.to("cpu", torch.float64)
    plan = plan_for(graph)
    lower, upper = -np.ones(3), np.ones(3)
    domains = Domains(torch.as_tensor(lower)[None], torch.as_tensor(upper)[None])
    found = optimised_boxes(plan, domains, iterations=40, lr=0.2)
    tight, alpha = _final_alpha(plan, found.boxes)
    loose, _ = _final_alpha(plan, found.crown)
    assert tight > loose + 0.5, (tight, loose)  # the network must need the tighter boxes
    assert len(found.slopes) == len(SIZES) - 3  # every activation input but the first's is optimised
    relus = [n.name for n in graph.nodes if isinstance(n.op, Relu)]
    slopes = {act: {earlier: v[0].numpy() for earlier, v in per.items()} for act, per in found.slopes.items()}
    return data, network, layers, lower, upper, relus, slopes, alpha, tight, loose


def _minimum(network, layers, lower, upper) -> float:
    """The exact minimum of the single output (MILP) for ReLU, else the least of 20 000
    sampled points and the box's corners (an upper bound on it: a property whose threshold
    exceeds it is violated at that point)."""
    if all(isinstance(n.op, Relu) for n in network.graph.nodes if isinstance(n.op, Activation)):
        return exact_min(layers, lower, upper, np.ones(1))
    rng = np.random.default_rng(1)
    corners = np.array(np.meshgrid(*zip(lower, upper))).reshape(len(lower), -1).T
    x = np.concatenate([rng.uniform(lower, upper, (20_000, len(lower))), corners])
    with torch.no_grad():
        return float(network.graph.to("cpu", torch.float64).forward(torch.as_tensor(x)).min())


def _certificate(network, prop, relus, slopes, alpha, root="alpha") -> Certificate:
    builder = CertificateBuilder(network.sha256, property_digest(prop), relus)
    builder.set_root_slopes(0, slopes)
    target = builder.target(0, 0)
    target.root = root
    target.close(0, alpha=alpha)
    return builder.finish()


def test_a_root_proof_on_alpha_boxes_checks_with_its_slopes_and_not_without(needs_root_slopes):
    data, network, _, lower, upper, relus, slopes, alpha, tight, loose = needs_root_slopes
    prop = one_row_property(lower, upper, [1.0], (tight + loose) / 2)
    certificate = _certificate(network, prop, relus, slopes, alpha)
    result = check(data, prop, Certificate.load(certificate.to_bytes()))  # through the file format
    assert result.valid, result.reason
    assert not check(data, prop, _certificate(network, prop, relus, slopes, alpha, root="crown")).valid
    adaptive = {relu: {earlier: np.full_like(v, np.nan) for earlier, v in per.items()} for relu, per in slopes.items()}
    assert not check(data, prop, _certificate(network, prop, relus, adaptive, alpha)).valid


def test_the_file_keeps_root_slopes_once_per_region(needs_root_slopes):
    _, network, _, lower, upper, relus, slopes, alpha, tight, loose = needs_root_slopes
    prop = one_row_property(lower, upper, [1.0], (tight + loose) / 2)
    loaded = Certificate.load(_certificate(network, prop, relus, slopes, alpha).to_bytes())
    assert loaded.targets[0].root == "alpha"
    for relu, per in slopes.items():
        for earlier, value in per.items():
            np.testing.assert_array_equal(loaded.root_slopes[0][relu][earlier], value)


def test_forged_root_slopes_cannot_prove_a_violated_property(needs_root_slopes):
    data, network, layers, lower, upper, relus, slopes, alpha, _, _ = needs_root_slopes
    prop = one_row_property(lower, upper, [1.0], _minimum(network, layers, lower, upper) + 0.02)  # some y <= d
    rng = np.random.default_rng(0)
    for trial in range(8):
        forged = {}
        for relu, per in slopes.items():
            forged[relu] = {}
            for earlier, value in per.items():
                v = rng.uniform(-3, 3, value.shape) * 10.0 ** rng.integers(0, 6)
                v[rng.random(value.shape) < 0.2] = np.nan
                forged[relu][earlier] = v
        final = {name: rng.uniform(-2, 3, a.shape) for name, a in alpha.items()}
        result = check(data, prop, _certificate(network, prop, relus, forged, final))
        assert not result.valid and "lower bound" in result.reason, (trial, result.reason)
    assert not check(data, prop, _certificate(network, prop, relus, slopes, alpha)).valid


def test_root_slopes_of_the_wrong_shape_or_order_are_refused(needs_root_slopes):
    data, network, _, lower, upper, relus, slopes, alpha, tight, loose = needs_root_slopes
    prop = one_row_property(lower, upper, [1.0], (tight + loose) / 2)
    relu, per = next(iter(slopes.items()))
    earlier = next(iter(per))
    cut = copy.deepcopy(slopes)
    cut[relu][earlier] = cut[relu][earlier][:-1]
    result = check(data, prop, _certificate(network, prop, relus, cut, alpha))
    assert not result.valid and "shape" in result.reason, result.reason
    backwards = {earlier: {relu: np.zeros((2 * 8, 8))}}  # a later layer's slopes for an earlier one
    result = check(data, prop, _certificate(network, prop, relus, backwards, alpha))
    assert not result.valid and "not an earlier activation layer" in result.reason, result.reason
