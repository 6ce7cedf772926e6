"""The training loop end to end: resuming from checkpoints, stopping, and a tiny MNIST run that
makes the network verifiable."""

from __future__ import annotations

import pytest
import torch

from core.model import load_network
from core.training import TrainConfig, train
from core.training.architectures import build
from core.training.checkpoint import FILE
from core.training.convert import to_graph
from core.training.evaluate import verified_mask

QUICK = dict(arch="mlp", epochs=2, batch_size=32, train_subset=64, test_subset=16, eval_crown_subset=0,
             eval_alpha_subset=0, complete_subset=0, eval_pgd_steps=2, eval_pgd_restarts=1, device="cpu")


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_network(mnist_path, tmp_path):
    config = TrainConfig(method="mtl-ibp", data=mnist_path, **QUICK)
    whole = train(config)
    events = []
    first = train(config, lambda e: events.append(e) or e["phase"] == "epoch", tmp_path)
    assert first.stopped and first.report is None and len(first.history) == 1 and (tmp_path / FILE).is_file()
    assert events[-1]["phase"] == "epoch" and events[-1]["epoch"] == 1
    resumed = train(config, None, tmp_path)
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    assert resumed.history[0] == first.history[0]
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    assert torch.allclose(load_network(resumed.onnx).graph.forward(x), load_network(whole.onnx).graph.forward(x),
                          atol=1e-5)
    assert resumed.report is not None and resumed.report.samples == 16


def test_a_checkpoint_of_another_configuration_is_refused(mnist_path, tmp_path):
    train(TrainConfig(method="ibp", data=mnist_path, **{**QUICK, "epochs": 1}), None, tmp_path)
    with pytest.raises(ValueError, match="another configuration"):
        train(TrainConfig(method="cc-ibp", data=mnist_path, **{**QUICK, "epochs": 1}), None, tmp_path)


@pytest.mark.slow
def test_tiny_ibp_run_improves_verified_accuracy_over_its_start(mnist):
    eps = 0.02
    config = TrainConfig(method="ibp", arch="mlp", eps=eps, epochs=3, batch_size=100, train_subset=1000,
                         test_subset=100, warmup_epochs=0, ramp_epochs=1, eval_crown_subset=20,
                         eval_alpha_subset=5, complete_subset=1, complete_timeout_s=60, device="cpu")
    test = mnist.test.head(100)
    torch.manual_seed(config.seed)
    start = build("mlp", (1, 28, 28)).eval()
    start_graph = to_graph(start, (1, 28, 28)).graph.to(dtype=torch.float64)
    start_verified = float(verified_mask(start_graph, test.images, test.labels, eps, "ibp").float().mean())
    result = train(config)
    report = result.report
    assert report.ibp >= start_verified + 0.3
    assert report.clean >= 0.6 and report.pgd <= report.clean
    assert report.ibp <= report.pgd + 1e-9  # a sound proof implies robustness to the attack
    assert report.crown_samples == 20 and report.alpha_samples == 5 and report.complete_samples == 1
    assert [h["epoch"] for h in result.history] == [1, 2, 3] and result.history[-1]["eps"] == pytest.approx(eps)
    assert load_network(result.onnx).graph.output_shape == (10,)
