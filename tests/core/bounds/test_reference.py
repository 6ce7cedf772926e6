"""On small ReLU networks in float64: CROWN <= α-CROWN <= planet LP <= MILP <= sampled minimum,
and IBP <= MILP; the LP and MILP themselves checked on a case with a known answer."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from core.bounds import BoundOptions, Domains, bound
from core.bounds.reference import exact_milp, planet_lp
from tests.core.bounds import nets
from tests.core.bounds.checks import sampled_extremes

TOL = 1e-6


@st.composite
def relu_networks(draw):
    kind = draw(st.sampled_from(["fc", "residual", "conv"]))
    seed = draw(st.integers(0, 10_000))
    if kind == "fc":
        model = nets.fc_net(seed, draw(st.integers(1, 4)), draw(st.lists(st.integers(2, 8), min_size=1, max_size=3)), 3)
    elif kind == "residual":
        model = nets.residual_net(seed, draw(st.integers(1, 4)), draw(st.integers(2, 6)), 3)
    else:
        model = nets.conv_net(seed, 1, 3)
    # 36 + 8 ReLUs with few unstable ones keep the conv MILP to seconds
    radius = draw(st.floats(0.05, 0.25 if kind == "conv" else 0.8))
    return nets.load(model), seed, radius


def _assert_ordered(graph, seed: int, radius: float) -> None:
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(1, *graph.input_shape, dtype=torch.float64, generator=g) * 2 - 1
    domains = Domains(centre - radius, centre + radius)
    C = torch.randn(2, graph.output_size, dtype=torch.float64, generator=g)
    d = torch.zeros(2, dtype=torch.float64)
    ibp = bound(graph, domains, C, d, "ibp").lower[0]
    crown = bound(graph, domains, C, d, "crown").lower[0]
    alpha_result = bound(graph, domains, C, d, "alpha", BoundOptions(alpha_iterations=30))
    alpha = alpha_result.lower[0]
    lp = torch.as_tensor(planet_lp(graph, domains.box, alpha_result.intermediate, C.numpy(), d.numpy()))
    milp = torch.as_tensor(exact_milp(graph, domains.box, alpha_result.intermediate, C.numpy(), d.numpy()))
    sampled, _ = sampled_extremes(graph, domains.box, C, d, n=1000, pgd_steps=20, seed=seed)
    assert torch.all(crown <= alpha + TOL), (crown, alpha)
    assert torch.all(alpha <= lp + TOL), (alpha, lp)
    assert torch.all(lp <= milp + TOL), (lp, milp)
    assert torch.all(milp <= sampled + TOL), (milp, sampled)
    assert torch.all(ibp <= milp + TOL), (ibp, milp)


@pytest.mark.parametrize("model, radius", [(nets.fc_net(5, 3, [8, 8, 6], 3), 0.8), (nets.residual_net(6, 3, 6, 3), 0.8),
                                           (nets.conv_net(7, 1, 3), 0.2)], ids=["fc", "residual", "conv"])
def test_methods_are_ordered_on_fixed_networks(model, radius):
    _assert_ordered(nets.load(model), 7, radius)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_networks())
def test_methods_are_ordered_against_lp_milp_and_samples(net):
    _assert_ordered(*net)


def test_lp_and_milp_on_a_hand_solved_network():
    # y = relu(x) + relu(-x) - 0.5 = |x| - 0.5 on x in [-1, 2]: minimum -0.5 at x = 0, and
    # the LP reaches it too (both ReLU outputs can be 0 only at x = 0 in the triangles)
    inits = [numpy_helper.from_array(np.array([[1.0], [-1.0]], np.float32), "w1"),
             numpy_helper.from_array(np.zeros(2, np.float32), "b1"),
             numpy_helper.from_array(np.ones((1, 2), np.float32), "w2"),
             numpy_helper.from_array(np.array([-0.5], np.float32), "b2")]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1)]
    model = helper.make_model(helper.make_graph(
        nodes, "abs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], inits),
        opset_imports=[helper.make_opsetid("", 13)])
    graph = nets.load(model.SerializeToString())
    domains = Domains(torch.tensor([[-1.0]], dtype=torch.float64), torch.tensor([[2.0]], dtype=torch.float64))
    result = bound(graph, domains, torch.ones(1, 1, 1, dtype=torch.float64), torch.zeros(1, 1), "crown")
    C, d = np.ones((1, 1)), np.zeros(1)
    assert exact_milp(graph, domains.box, result.intermediate, C, d) == pytest.approx([-0.5], abs=1e-9)
    assert planet_lp(graph, domains.box, result.intermediate, C, d) == pytest.approx([-0.5], abs=1e-9)
    assert exact_milp(graph, domains.box, result.intermediate, -C, d) == pytest.approx([-1.5], abs=1e-9)  # max at x = 2


def test_reference_refuses_non_relu_networks():
    graph = nets.load(nets.fc_net(0, 2, [3], 1, "Sigmoid"))
    domains = Domains(torch.zeros(1, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64))
    result = bound(graph, domains, torch.ones(1, 1, 1), torch.zeros(1, 1), "crown")
    with pytest.raises(ValueError, match="Sigmoid"):
        planet_lp(graph, domains.box, result.intermediate, np.ones((1, 1)), np.zeros(1))
