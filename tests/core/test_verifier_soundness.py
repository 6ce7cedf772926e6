"""verify() never contradicts the exact MILP, on random small ReLU networks and properties.

Networks are real ONNX files (onnx.helper) loaded by the real loader; the MILP in
tests/core/bab/exact.py encodes the same float32 weights exactly. Instances whose exact
answer flips within 1e-5 of the threshold are skipped as too close to call.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st

from core.config import VerifyConfig
from core.result import Verdict
from core.verifier import verify
from tests.core.bab.exact import exact_verdict, load, one_region, random_mlp, relu_mlp


@st.composite
def problems(draw, depth: int = 1, widths: tuple[int, int] = (2, 8), quantile: float = 0.3,
             slack: float = 0.2):
    """A random ReLU network (`depth` to 3 hidden layers of `widths` neurons) and a property
    whose thresholds lie near the sampled outputs' lower `quantile`, less up to `slack`."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(*widths), min_size=depth, max_size=3))
    weights, biases = random_mlp(rng, [n_in, *hidden, n_out])
    center = rng.uniform(-1, 1, n_in)
    radius = rng.uniform(0.05, 1.0, n_in)
    lower, upper = center - radius, center + radius
    samples = rng.uniform(lower, upper, (256, n_in))
    ys = samples
    for k, (W, b) in enumerate(zip(weights, biases)):
        ys = ys @ W.T + b
        if k < len(weights) - 1:
            ys = np.maximum(ys, 0)
    disjuncts = []
    for _ in range(draw(st.integers(1, 2))):
        rows = draw(st.integers(1, 2))
        C = rng.normal(size=(rows, n_out))
        # thresholds around the sampled range, so that both answers come up
        d = np.quantile(ys @ C.T, rng.uniform(0, quantile), axis=0) - rng.uniform(0, slack, rows)
        disjuncts.append((C, d))
    return weights, biases, one_region(lower, upper, disjuncts, n_out)


def check(problem, branching: str, **config):
    weights, biases, prop = problem
    loose, tight = exact_verdict(weights, biases, prop, -1e-5), exact_verdict(weights, biases, prop, 1e-5)
    event(f"exact: {loose if loose == tight else 'too close'}")
    assume(loose == tight)
    result = verify(load(relu_mlp(weights, biases)), prop, VerifyConfig(timeout_s=20, branching=branching,
                                                                         threads=1, seed=0, **config))
    assert result.verdict in (Verdict.SAT, Verdict.UNSAT, Verdict.TIMEOUT), result.message
    if result.verdict in (Verdict.SAT, Verdict.UNSAT):
        assert result.verdict.value == tight, f"verify says {result.verdict.value}, the MILP {tight}"
    event(f"verify: {result.verdict.value}")
    event(f"lemmas: {bool(result.certificate and any(result.certificate.get('lemmas', {}).values()))}")
    return result.verdict


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
                derandomize=True)


@settings(max_examples=40, **SETTINGS)
@given(problem=problems(), branching=st.sampled_from(["input", "relu"]))
def test_verify_agrees_with_the_milp(problem, branching):
    check(problem, branching)


@pytest.mark.slow
@settings(max_examples=300, **SETTINGS)
@given(problem=problems(), branching=st.sampled_from(["input", "relu"]))
def test_verify_agrees_with_the_milp_on_hundreds_of_networks(problem, branching):
    check(problem, branching)


@settings(max_examples=30, **SETTINGS)
@given(problem=problems(depth=3, widths=(8, 12), quantile=0.0, slack=0.05))
def test_verify_with_lemmas_first_agrees_with_the_milp(problem):
    """Three hidden layers and thresholds just under the sampled minimum, so that α-CROWN at
    the root leaves targets open: lemmas on the second layer are proven before any search
    and narrow the root (a third of the examples get some)."""
    check(problem, "relu", search_before_lemmas=0)
