"""`train_multitask`: one network for several tasks, the task losses combined as the config says.

Each step folds the shared trunk once on the clean batch, hangs every task's head on it,
computes every task's loss (plain cross-entropy, or its certified-training objective at
its own ε and schedule, `core.training.losses.method_loss`), and hands the losses to the
combiner, which leaves the update in the parameters' gradients. Weight decay, dropout and
early stopping are the regularisers the unitary scalarization is paired with.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from core.device import require_device
from core.training.export import export_onnx
from core.training.losses import method_loss
from core.training.multitask import memory
from core.training.multitask.combiners import Combiner, make
from core.training.multitask.config import MultiTaskConfig, Task
from core.training.multitask.datasets import TaskSplit, task_splits
from core.training.multitask.evaluate import MultiTaskReport, evaluate, task_scores
from core.training.multitask.network import build_network, shared_and_specific, step_graphs
from core.training.convert import to_graph
from core.training.schedule import coefficients, learning_rate

TrainProgress = Callable[[dict], bool | None]
_MONITOR = 1000       # examples scored after every epoch (the validation split under early stopping)
_BATCH_EVENT_S = 5.0  # at most this long between progress events inside an epoch


@dataclass
class MultiTaskResult:
    """The trained network as ONNX bytes (outputs: the heads' logits side by side), its report
    (None when stopped early), the per-epoch metrics, and whether it was stopped."""

    onnx: bytes
    report: MultiTaskReport | None
    history: list[dict] = field(default_factory=list)
    stopped: bool = False


@dataclass
class _Run:
    """What every step of one run needs."""

    config: MultiTaskConfig
    tasks: tuple[Task, ...]
    heads: int
    model: nn.Sequential
    optimiser: torch.optim.Optimizer
    combiner: Combiner
    shared: list[nn.Parameter]
    specific: list[nn.Parameter]
    input_shape: tuple[int, ...]
    device: torch.device
    generator: torch.Generator
    step_s: list[float] = field(default_factory=list)


def train_multitask(config: MultiTaskConfig, progress: TrainProgress | None = None) -> MultiTaskResult:
    """Train as `config` says. `progress` receives {"phase": "epoch", ...} after every epoch,
    {"phase": "train", ...} at least every few seconds and {"phase": "evaluate"}; returning
    True stops the run (the network so far is still exported, without evaluation)."""
    config = config.resolved()
    device = torch.device(require_device(config.device))
    train_split, test_split = task_splits(config.dataset, config.data, config.seed, config.train_subset,
                                          config.test_subset)
    train_split, monitor = _hold_out(config, train_split, test_split)
    run = _start(config, tuple(train_split.images.shape[1:]), device)
    history: list[dict] = []
    best: tuple[float, int, dict] | None = None
    stopped = False
    reset = memory.reset_peak()
    started, cpu_started = time.monotonic(), time.process_time()
    for epoch in range(config.epochs):
        metrics = _epoch(run, train_split, epoch, progress)
        if metrics is None:
            stopped = True
            break
        metrics.update(_monitor(run, monitor))
        history.append(metrics)
        if best is None or metrics["score"] > best[0]:
            best = (metrics["score"], epoch + 1, copy.deepcopy(run.model.state_dict()))
        if progress is not None and progress({"phase": "epoch", **metrics}) is True:
            stopped = True
            break
        if config.early_stopping is not None and epoch + 1 - best[1] >= config.early_stopping:
            break
    train_s, cpu_s, peak = time.monotonic() - started, time.process_time() - cpu_started, memory.peak_bytes()
    if config.early_stopping is not None and best is not None:
        run.model.load_state_dict(best[2])
    onnx = export_onnx(run.model, run.input_shape, test_split.images[:8].to(device))
    if stopped:
        return MultiTaskResult(onnx, None, history, True)
    if progress is not None:
        progress({"phase": "evaluate"})
    from core.model import load_network

    report = evaluate(load_network(onnx), test_split, config)
    report.train_s, report.train_cpu_s, report.epochs_run = train_s, cpu_s, len(history)
    report.epoch_s = sum(h["epoch_s"] for h in history) / max(len(history), 1)
    report.step_s = sum(run.step_s) / max(len(run.step_s), 1)
    report.peak_rss_mb, report.combiner_extra_mb = peak / 2**20, run.combiner.extra_bytes / 2**20
    report.best_epoch = best[1] if config.early_stopping is not None and best is not None else None
    report.extra = {"peak_since": "run start" if reset else "process start", "combiner": config.combiner}
    return MultiTaskResult(onnx, report, history, False)


def _hold_out(config: MultiTaskConfig, train: TaskSplit, test: TaskSplit) -> tuple[TaskSplit, TaskSplit]:
    """(training examples, what each epoch is scored on): the last `val_fraction` of the training
    set under early stopping (the test set must not choose the epoch), else the first test examples."""
    if config.early_stopping is None:
        return train, test.head(_MONITOR)
    keep = len(train) - max(1, round(config.val_fraction * len(train)))
    if keep < 2:
        raise ValueError(f"val_fraction {config.val_fraction} leaves fewer than 2 of {len(train)} training examples")
    return train.take(slice(0, keep)), train.take(slice(keep, None)).head(_MONITOR)


def _start(config: MultiTaskConfig, input_shape: tuple[int, ...], device: torch.device) -> _Run:
    tasks = config.resolved_tasks()
    heads = 1 if config.heads == "shared" else len(tasks)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_network(config.arch, input_shape, heads).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    shared, specific = shared_and_specific(model, heads)
    return _Run(config, tasks, heads, model, optimiser, make(config.combiner, generator, config.cagrad_c),
                shared, specific, input_shape, device, generator)


def _epoch(run: _Run, data: TaskSplit, epoch: int, progress: TrainProgress | None) -> dict | None:
    """One pass over `data`; its metrics, or None when `progress` asked to stop."""
    config, model = run.config, run.model
    model.train()
    for group in run.optimiser.param_groups:
        group["lr"] = learning_rate(config, epoch)
    order = torch.randperm(len(data), generator=run.generator)
    batches = math.ceil(len(order) / config.batch_size)
    task_configs = [config.task_config(t).resolved() for t in run.tasks]
    started = last_event = time.monotonic()
    totals = torch.zeros(len(run.tasks), dtype=torch.float64)
    for b in range(batches):
        idx = order[b * config.batch_size:(b + 1) * config.batch_size]
        if len(idx) < 2:
            continue  # BatchNorm statistics need two examples
        step_started = time.monotonic()
        batch = data.take(idx)
        x = batch.images.to(run.device)
        losses = _losses(run, task_configs, x, batch, epoch + b / batches)
        run.optimiser.zero_grad(set_to_none=True)
        features = losses.features if all(t.eps == 0 for t in run.tasks) else None
        run.combiner.backward(losses.values, run.shared, run.specific, features)
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        run.optimiser.step()
        run.step_s.append(time.monotonic() - step_started)
        totals += losses.values.detach().double().cpu() * len(idx)
        if progress is not None and time.monotonic() - last_event > _BATCH_EVENT_S:
            last_event = time.monotonic()
            if progress({"phase": "train", "epoch": epoch + 1, "batch": b + 1, "batches": batches}) is True:
                return None
    task_losses = (totals / len(order)).tolist()
    return {"epoch": epoch + 1, "epochs": config.epochs, "lr": learning_rate(config, epoch),
            "loss": sum(task_losses), "task_losses": task_losses, "epoch_s": time.monotonic() - started}


@dataclass
class _Losses:
    values: torch.Tensor    # [T]
    features: torch.Tensor  # the trunk's output on the clean batch


def _losses(run: _Run, task_configs, x: torch.Tensor, batch: TaskSplit, at: float) -> _Losses:
    step = step_graphs(run.model, run.input_shape, x, run.heads, len(run.tasks), run.config.dropout, run.generator)
    values = []
    for t, task in enumerate(run.tasks):
        labels = batch.labels[task.label].to(run.device)
        if task.eps == 0:
            values.append(F.cross_entropy(step.logits[t], labels))
        else:
            c = coefficients(task_configs[t], at)
            values.append(method_loss(task_configs[t], step.graphs[t], step.logits[t], x, labels, c,
                                      run.generator).loss)
    return _Losses(torch.stack(values), step.features)


def _monitor(run: _Run, split: TaskSplit) -> dict:
    """Per-task accuracy (and IBP-verified share for certified tasks) on `split`; `score` is their
    mean, certified tasks counting by their verified share (early stopping keeps its best)."""
    run.model.eval()
    with torch.no_grad():
        graph = to_graph(run.model, run.input_shape).graph.to("cpu", torch.float64)
        scores = task_scores(graph, split, run.tasks, run.heads)
    run.model.train()
    per_task = [{"label": s.label, "eps": s.eps, "accuracy": s.accuracy, "ibp_verified": s.ibp_verified}
                for s in scores]
    score = sum(s.accuracy if s.ibp_verified is None else s.ibp_verified for s in scores) / len(scores)
    return {"tasks": per_task, "score": score}
