"""Robustness properties (core.spec.robustness): the written file parses back to the box and
the unsafe set it should mean, and the verifier's answer on it is the exact one."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from core.config import VerifyConfig
from core.counterexample import run_network
from core.model import load_network
from core.result import Verdict
from core.spec import parse_vnnlib
from core.spec.robustness import RobustnessError, mnist_test_image, read_image, robustness_vnnlib
from core.verifier import verify
from tests.core.bounds.nets import fc_net


def misclassified(y: np.ndarray, label: int) -> bool:
    return bool(np.delete(y, label).max() >= y[label])


def test_the_box_is_the_clipped_ball_rounded_outward_and_the_unsafe_set_is_misclassification():
    rng = np.random.default_rng(0)
    image = np.concatenate([[0.0, 1.0, 0.1, 0.7], rng.uniform(0, 1, 12)])
    eps, label = 0.1, 3
    prop = parse_vnnlib(robustness_vnnlib(image, eps, label, n_classes=5))
    assert (prop.n_inputs, prop.n_outputs, len(prop.regions)) == (16, 5, 1)
    box = prop.regions[0].box
    for pixel, low, high in zip(image, box.lower, box.upper):
        exact_low, exact_high = Fraction(pixel) - Fraction(eps), Fraction(pixel) + Fraction(eps)
        assert low == 0.0 if exact_low <= 0 else Fraction(low) <= exact_low < Fraction(np.nextafter(low, 2))
        assert high == 1.0 if exact_high >= 1 else Fraction(np.nextafter(high, -1)) < exact_high <= Fraction(high)
    assert (box.lower[0], box.upper[1], box.lower[2]) == (0.0, 1.0, 0.0)  # clipped to [0, 1]
    region = prop.regions[0]
    outputs = rng.normal(size=(2000, 5))
    outputs[:50, label] = outputs[:50, 0]  # ties count as unsafe
    for y in outputs:
        assert any(c.holds(y) for c in region.unsafe) == misclassified(y, label)


@pytest.mark.parametrize("pixels, eps, label, words", [
    ([0.5, 1.2], 0.1, 0, "pixel 1 is 1.2, outside the valid range"),
    ([0.5, float("nan")], 0.1, 0, "NaN"),
    ([0.5], 0.0, 0, "eps must be a positive"),
    ([0.5], float("inf"), 0, "eps must be a positive"),
    ([0.5], 0.1, 10, "label 10 is not a class of 0..9"),
    ([], 0.1, 0, "no pixels"),
])
def test_what_cannot_make_a_property_is_refused_naming_it(pixels, eps, label, words):
    with pytest.raises(RobustnessError, match=words):
        robustness_vnnlib(np.array(pixels), eps, label)


def linear_margins(onnx_bytes: bytes, lower: np.ndarray, upper: np.ndarray, label: int) -> np.ndarray:
    """max over the box of y_j - y_label for each j, exactly, for a one-Gemm network."""
    import onnx
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in onnx.load_from_string(onnx_bytes).graph.initializer}
    w, b = (inits[name] for name in sorted(inits))
    diff_w, diff_b = w - w[label], b - b[label]
    centre, radius = (lower + upper) / 2, (upper - lower) / 2
    return np.delete(diff_w @ centre + np.abs(diff_w) @ radius + diff_b, label)


def test_verify_on_an_mnist_image_gives_the_exact_answer_of_a_linear_network():
    image, _ = mnist_test_image(0)
    onnx_bytes = fc_net(7, 784, [], 10)
    network = load_network(onnx_bytes)
    label = int(np.argmax(run_network(onnx_bytes, image)))
    answers = {}
    for eps in (0.002, 0.005, 0.01, 0.02, 0.05, 0.1):
        prop = parse_vnnlib(robustness_vnnlib(image, eps, label))
        box = prop.regions[0].box
        worst = linear_margins(onnx_bytes, box.lower, box.upper, label).max()
        if abs(worst) < 1e-3:
            continue  # too close to call in float32
        expected = Verdict.SAT if worst > 0 else Verdict.UNSAT
        result = verify(network, prop, VerifyConfig(timeout_s=60, device="cpu"))
        assert result.verdict is expected, (eps, worst, result.message)
        if expected is Verdict.SAT:
            x = result.counterexample.x
            assert box.contains(x) and misclassified(result.counterexample.y, label)
        answers[expected] = eps
    assert set(answers) == {Verdict.SAT, Verdict.UNSAT}, answers


def test_the_cli_writes_the_property_of_an_image_file_and_of_an_mnist_index(tmp_path):
    runner = CliRunner()
    image = tmp_path / "digit.npy"
    np.save(image, np.arange(16, dtype=np.uint8) * 16)  # 8-bit: read as value / 255
    out = tmp_path / "prop.vnnlib"
    result = runner.invoke(cli, ["property", "robustness", "--image", str(image), "--eps", "0.05", "--label", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    box = parse_vnnlib(out.read_text()).regions[0].box
    assert np.allclose((box.lower + box.upper)[1:-1] / 2, read_image(image)[1:-1])
    result = runner.invoke(cli, ["property", "robustness", "--mnist-index", "5", "--eps", "0.01", "--out", str(out)])
    pixels, label = mnist_test_image(5)
    assert result.exit_code == 0 and parse_vnnlib(out.read_text()).n_inputs == pixels.size == 784
    assert f"(and (>= Y_{(label + 1) % 10} Y_{label}))" in out.read_text()
    for args, words in ((["--image", str(image), "--eps", "0.05"], "--label is required"),
                        (["--eps", "0.05"], "exactly one of"),
                        (["--mnist-index", "100000", "--eps", "0.05"], "MNIST test index 100000 is not available")):
        result = runner.invoke(cli, ["property", "robustness", *args, "--out", str(tmp_path / "no.vnnlib")])
        assert result.exit_code == 2 and words in result.output and not (tmp_path / "no.vnnlib").exists()


def test_an_mnist_index_means_the_official_image_in_the_subset_and_the_full_copy(mnist_path):
    from core.data import BUNDLED_MNIST

    with np.load(BUNDLED_MNIST) as subset:
        held, missing = int(subset["i_test"][-1]), int(np.setdiff1d(np.arange(10_000), subset["i_test"])[0])
    pixels, label = mnist_test_image(held, BUNDLED_MNIST)
    with np.load(mnist_path) as copy:
        if "i_test" not in copy.files:  # a full copy: the official order itself
            assert label == int(copy["y_test"][held])
            assert np.array_equal(pixels, copy["x_test"][held].reshape(-1) / 255.0)
    with pytest.raises(RobustnessError, match=f"MNIST test index {missing} is not available: .*CERTBOUND_SHARED_DIR"):
        mnist_test_image(missing, BUNDLED_MNIST)
