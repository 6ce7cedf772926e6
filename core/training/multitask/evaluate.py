"""Per-task figures of a trained multi-head network, measured on the exported ONNX itself.

For every task: clean accuracy of its head; for a certified task also the share of test
examples whose every margin is proved positive over the task's ε-box by float64 IBP (all
of them) and by CROWN (the first `eval_crown_subset`), with `core.bounds` exactly as the
single-task evaluation does. Combined figures are the tasks' means.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from core.model.ir import Graph
from core.training.evaluate import verified_mask
from core.training.multitask.config import MultiTaskConfig, Task
from core.training.multitask.datasets import TaskSplit
from core.training.multitask.network import task_graph

_CHUNK = 512


@dataclass
class TaskReport:
    """One task's figures in [0, 1] (None where they do not apply)."""

    label: str
    method: str
    eps: float
    accuracy: float
    ibp_verified: float | None = None
    crown_verified: float | None = None
    crown_samples: int = 0


@dataclass
class MultiTaskReport:
    """Per-task figures, their means, and what the training cost."""

    samples: int
    tasks: list[TaskReport]
    mean_accuracy: float
    mean_verified: float | None       # mean over certified tasks of the IBP-verified share
    train_s: float = 0.0
    train_cpu_s: float = 0.0          # this process's CPU time while training (steady under machine load)
    epoch_s: float = 0.0              # mean wall time of an epoch's training steps
    step_s: float = 0.0               # mean wall time of one step (forward, bounds, combiner, optimiser)
    peak_rss_mb: float = 0.0          # resident-set high-water mark during training (see memory.py)
    combiner_extra_mb: float = 0.0    # the largest tensor the combiner held beyond the losses (T × P gradients)
    epochs_run: int = 0
    best_epoch: int | None = None     # early stopping: the epoch whose network was kept
    elapsed_s: float = 0.0            # evaluation time
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """Aligned text lines for the command line."""
        pct = lambda v: "-" if v is None else f"{100 * v:6.2f}%"  # noqa: E731
        lines = [f"{'task':<8} {'method':<9} {'eps':>6} {'accuracy':>9} {'IBP ver.':>9} {'CROWN ver.':>10}"]
        for t in self.tasks:
            lines.append(f"{t.label:<8} {t.method:<9} {t.eps:>6g} {pct(t.accuracy):>9} {pct(t.ibp_verified):>9} "
                         f"{pct(t.crown_verified):>10}")
        lines.append(f"mean accuracy {pct(self.mean_accuracy)}, mean verified {pct(self.mean_verified)} "
                     f"on {self.samples} test examples")
        lines.append(f"{self.epochs_run} epochs, {self.epoch_s:.2f} s/epoch, {1000 * self.step_s:.1f} ms/step, "
                     f"peak RSS {self.peak_rss_mb:.0f} MB, combiner extra {self.combiner_extra_mb:.2f} MB")
        return "\n".join(lines)


def task_scores(graph: Graph, split: TaskSplit, tasks: tuple[Task, ...], heads: int,
                crown_subset: int = 0) -> list[TaskReport]:
    """Each task's figures for `graph` (the whole multi-head network) on `split`."""
    out = []
    for t, task in enumerate(tasks):
        g = task_graph(graph, t, heads)
        labels = split.labels[task.label]
        with torch.no_grad():
            predicted = torch.cat([g.forward(split.images[i:i + _CHUNK].to(_dtype(g))).argmax(1)
                                   for i in range(0, len(split), _CHUNK)])
        correct = predicted == labels
        report = TaskReport(task.label, task.method, task.eps, _mean(correct))
        if task.eps > 0:
            ibp = verified_mask(g, split.images, labels, task.eps, "ibp")
            report.ibp_verified = _mean(ibp)
            m = min(crown_subset, len(split))
            if m:
                crown = ibp[:m].clone()
                open_ = (correct[:m] & ~crown).nonzero().squeeze(1)  # misclassified ones cannot be proved
                if open_.numel():
                    crown[open_] = verified_mask(g, split.images[open_], labels[open_], task.eps, "crown")
                report.crown_verified, report.crown_samples = _mean(crown), m
        out.append(report)
    return out


def evaluate(network, test: TaskSplit, config: MultiTaskConfig) -> MultiTaskReport:
    """The report of `network` (a `core.model.Network` loaded from the exported ONNX) on `test`."""
    started = time.monotonic()
    tasks = config.resolved_tasks()
    heads = 1 if config.heads == "shared" else len(tasks)
    graph = network.graph.to(dtype=torch.float64)
    scores = task_scores(graph, test, tasks, heads, config.eval_crown_subset)
    verified = [s.ibp_verified for s in scores if s.ibp_verified is not None]
    return MultiTaskReport(len(test), scores, sum(s.accuracy for s in scores) / len(scores),
                           sum(verified) / len(verified) if verified else None, elapsed_s=time.monotonic() - started)


def _dtype(graph: Graph) -> torch.dtype:
    return next(n.op.weight.dtype for n in graph.nodes if hasattr(n.op, "weight"))


def _mean(mask: torch.Tensor) -> float:
    return float(mask.float().mean()) if mask.numel() else 0.0
