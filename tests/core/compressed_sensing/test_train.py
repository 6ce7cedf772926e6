import numpy as np
import onnxruntime
import pytest
import torch

from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.fit import NotDecodable, all_patterns, fit
from core.compressed_sensing.problem import Problem, support_errors
from core.compressed_sensing.train import build_decoder, piece_bounds, with_corners
from tests.core.compressed_sensing import tetra


@pytest.mark.parametrize("fraction", [0.2, 1.0])
def test_piece_bounds_hold_at_sampled_points_of_the_box(fraction):
    problem = Problem.of(CSConfig(n=6, m=4, k=2))
    torch.manual_seed(0)
    model = build_decoder(problem, (16, 16))
    rng = np.random.default_rng(0)
    x = problem.sample(8, rng)
    sigma = np.where(x != 0, 1.0, -1.0)
    with torch.no_grad():
        lower = piece_bounds(model, problem, torch.as_tensor(x), torch.as_tensor(sigma), fraction).numpy()
    width = (problem.high - problem.low) * fraction
    for row, bound, s in zip(x, lower, sigma):
        on = row != 0
        centre = np.clip(np.abs(row[on]), problem.low + width / 2, problem.high - width / 2) if fraction < 1 \
            else np.full(on.sum(), (problem.low + problem.high) / 2)
        t = centre + rng.uniform(-width / 2, width / 2, (2000, on.sum()))
        points = np.zeros((2000, problem.n))
        points[:, on] = np.sign(row[on]) * t
        with torch.no_grad():
            values = s * model(torch.as_tensor(problem.measure(points))).numpy()
        assert np.all(values >= bound - 1e-9)
        assert np.all(np.isfinite(bound))


def test_fit_trains_and_proves_a_decoder_for_an_easy_problem():
    config = tetra.config().model_copy(update={"epochs": 8, "samples": 4096, "hidden": (32,), "lr": 1e-2})
    fitted = fit(config, Problem.of(config))
    assert fitted.verification.verdict == "unsat"
    assert len(fitted.verification.outcomes) == 8
    # what is proven holds at sampled x, corners included, replayed in onnxruntime
    problem = Problem.of(config)
    x = with_corners(problem.sample(3000, np.random.default_rng(7)), problem, np.random.default_rng(8))
    session = onnxruntime.InferenceSession(fitted.decoder, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    scores = np.concatenate([session.run(None, {name: y[None].astype(np.float32)})[0] for y in problem.measure(x)])
    assert not support_errors(scores, x).any()
    assert any(event.get("phase") == "verified" for event in fitted.history)


def test_sign_measurements_that_cannot_tell_supports_apart_are_refused():
    with pytest.raises(NotDecodable, match="no decoder can be correct"):
        all_patterns(Problem.of(CSConfig(n=10, m=8, k=2, measurement="binarized")))
    assert len(all_patterns(tetra.problem("binarized")).y) == 8
