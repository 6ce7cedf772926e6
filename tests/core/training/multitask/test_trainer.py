"""A few steps of multi-task training end to end: per-task figures on the exported network, early stopping, stop."""

import pytest
import torch

from core.data import BUNDLED_MNIST
from core.model import load_network
from core.training.evaluate import verified_mask
from core.training.multitask.config import MultiTaskConfig
from core.training.multitask.datasets import task_splits
from core.training.multitask.network import task_graph
from core.training.multitask.trainer import train_multitask

TINY = dict(data=BUNDLED_MNIST, arch="mlp", epochs=2, batch_size=32, train_subset=96, test_subset=24,
            eval_crown_subset=4, device="cpu")


@pytest.fixture(scope="module")
def robust():
    config = MultiTaskConfig(dataset="mnist", method="ibp", tasks=[{"eps": 0.02}, {"eps": 0.05}], lr=2e-3,
                             warmup_epochs=0, ramp_epochs=1, **TINY)
    return config, train_multitask(config)


def test_robust_tasks_report_ibp_and_crown_verified_accuracy_of_the_exported_network(robust):
    config, result = robust
    report = result.report
    assert [t.eps for t in report.tasks] == [0.02, 0.05]
    network = load_network(result.onnx)
    assert network.graph.output_size == 20  # two heads side by side
    test = task_splits("mnist", BUNDLED_MNIST, 0, test_subset=24)[1]
    for t, task in enumerate(report.tasks):
        graph = task_graph(network.graph.to(dtype=torch.float64), t, 2)
        assert task.ibp_verified == pytest.approx(float(verified_mask(graph, test.images, test.labels["digit"],
                                                                      task.eps, "ibp").float().mean()))
        assert task.crown_samples == 4 and task.crown_verified >= 0
        assert task.ibp_verified <= task.accuracy
    assert report.tasks[0].ibp_verified >= report.tasks[1].ibp_verified  # a larger ε is never easier to prove
    assert report.epochs_run == 2 and report.step_s > 0 and report.peak_rss_mb > 0


def test_multi_mnist_with_a_gradient_combiner_and_the_regularisers():
    progress = []
    config = MultiTaskConfig(combiner="pcgrad", weight_decay=1e-4, dropout=0.2, early_stopping=1, val_fraction=0.25,
                             **TINY)
    result = train_multitask(config, progress.append)
    report = result.report
    assert [t.label for t in report.tasks] == ["left", "right"] and report.tasks[0].ibp_verified is None
    assert report.combiner_extra_mb > 0  # PCGrad holds the per-task gradients of the shared trunk
    epochs = [e for e in progress if e["phase"] == "epoch"]
    assert report.best_epoch == max(range(len(epochs)), key=lambda i: epochs[i]["score"]) + 1
    assert progress[-1] == {"phase": "evaluate"}


def test_progress_returning_true_stops_with_the_network_so_far():
    result = train_multitask(MultiTaskConfig(**TINY), lambda event: event["phase"] == "epoch")
    assert result.stopped and result.report is None and len(result.history) == 1
    assert load_network(result.onnx).graph.output_size == 20
