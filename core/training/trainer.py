"""`train`: the certified-training loop, its per-epoch metrics, checkpoints and the final report.

This is the entry point the command line and the service's `train` job both call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from core.device import require_device
from core.model.ir import Graph
from core.training import checkpoint
from core.training.architectures import build
from core.training.config import TrainConfig
from core.training.convert import to_graph
from core.training.data import Split, load_dataset
from core.training.distill import load_teacher
from core.training.evaluate import EvalReport, evaluate, verified_mask
from core.training.export import export_onnx
from core.training.fine_tune import load_for_fine_tuning
from core.training.losses import method_loss
from core.training.schedule import coefficients, learning_rate

# Called with each progress event (a JSON-ready dict); returning True stops the run.
TrainProgress = Callable[[dict], bool | None]
_MONITOR = 1000      # test examples checked after every epoch
_BATCH_EVENT_S = 5.0  # at most this long between progress events inside an epoch


@dataclass
class TrainResult:
    """The trained network as ONNX bytes (BatchNorm folded), its evaluation report (None when
    the run was stopped early), the per-epoch metrics, and whether it was stopped."""

    onnx: bytes
    report: EvalReport | None
    history: list[dict] = field(default_factory=list)
    stopped: bool = False


def train(config: TrainConfig, progress: TrainProgress | None = None,
          checkpoint_dir: Path | None = None) -> TrainResult:
    """Train as `config` says, resuming from `checkpoint_dir/last.pt` when it exists.

    `progress` receives {"phase": "epoch", ...metrics} after every epoch and
    {"phase": "train", "epoch", "batch", "batches"} at least every few seconds within one,
    then {"phase": "evaluate"}; returning True stops the run (the network trained so far
    is still exported, without evaluation).
    """
    config = config.resolved()
    device = torch.device(require_device(config.device))  # DeviceUnavailable: one line, not a traceback
    data = load_dataset(config.dataset, config.data)
    train_split, test_split = data.train.head(config.train_subset), data.test.head(config.test_subset)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    if config.init_onnx is not None:
        model, input_shape = load_for_fine_tuning(config.init_onnx)
        if input_shape != data.input_shape:
            raise ValueError(f"{config.init_onnx}: the network takes inputs {list(input_shape)}, the "
                             f"{config.dataset} images are {list(data.input_shape)}")
    else:
        model, input_shape = build(config.arch, data.input_shape, data.classes), data.input_shape
    model.to(device)
    teacher = None if config.teacher is None else load_teacher(config.teacher, input_shape, data.classes, device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    key = config.model_dump_json()
    resumed = checkpoint.restore(checkpoint_dir, key, model, optimiser, generator) if checkpoint_dir else None
    history = resumed.history if resumed else []
    stopped = False
    for epoch in range(resumed.epoch if resumed else 0, config.epochs):
        metrics = _epoch(config, model, optimiser, input_shape, train_split, epoch, device, generator, progress,
                         teacher)
        if metrics is None:
            stopped = True
            break
        metrics.update(_monitor(model, input_shape, test_split.head(_MONITOR), config.eps, device))
        history.append(metrics)
        if checkpoint_dir is not None:
            checkpoint.save(checkpoint_dir, key, epoch + 1, history, model, optimiser, generator)
        if progress is not None and progress({"phase": "epoch", **metrics}) is True:
            stopped = True
            break
    onnx = export_onnx(model, input_shape, test_split.images[:8].to(device))
    if stopped:
        return TrainResult(onnx, None, history, True)
    if progress is not None:
        progress({"phase": "evaluate"})
    from core.model import load_network

    report = evaluate(load_network(onnx), test_split, config.eps, config)
    return TrainResult(onnx, report, history, False)


def _epoch(config: TrainConfig, model: nn.Sequential, optimiser: torch.optim.Optimizer,
           input_shape: tuple[int, ...], data: Split, epoch: int, device: torch.device,
           generator: torch.Generator, progress: TrainProgress | None, teacher: Graph | None = None) -> dict | None:
    """One pass over `data` (distilling `teacher` when given); its metrics, or None when `progress` asked to stop."""
    model.train()
    for group in optimiser.param_groups:
        group["lr"] = learning_rate(config, epoch)
    order = torch.randperm(len(data.labels), generator=generator)
    batches = math.ceil(len(order) / config.batch_size)
    started = last_event = time.monotonic()
    total = correct = robust_errors = counted = 0.0
    for b in range(batches):
        idx = order[b * config.batch_size:(b + 1) * config.batch_size]
        if len(idx) < 2:
            continue  # BatchNorm statistics need two examples
        x, labels = data.images[idx].to(device), data.labels[idx].to(device)
        c = coefficients(config, epoch + b / batches)
        folded = to_graph(model, input_shape, x)
        step = method_loss(config, folded.graph, folded.logits, x, labels, c, generator, teacher)
        optimiser.zero_grad(set_to_none=True)
        step.loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimiser.step()
        total += float(step.loss.detach()) * len(idx)
        correct += float((folded.logits.argmax(1) == labels).sum())
        if step.robust_error is not None:
            robust_errors, counted = robust_errors + step.robust_error * len(idx), counted + len(idx)
        if progress is not None and time.monotonic() - last_event > _BATCH_EVENT_S:
            last_event = time.monotonic()
            if progress({"phase": "train", "epoch": epoch + 1, "batch": b + 1, "batches": batches}) is True:
                return None
    seen = len(order)
    return {"epoch": epoch + 1, "epochs": config.epochs, "eps": c.eps, "lr": learning_rate(config, epoch),
            "loss": total / seen, "train_accuracy": correct / seen,
            "train_robust_error": robust_errors / counted if counted else None,
            "epoch_s": time.monotonic() - started}


def _monitor(model: nn.Sequential, input_shape: tuple[int, ...], test: Split, eps: float,
             device: torch.device) -> dict:
    """Clean accuracy and IBP-verified accuracy (at the final ε) on a few test examples."""
    model.eval()
    with torch.no_grad():
        graph = to_graph(model, input_shape).graph.to("cpu", torch.float64)
        clean = (graph.forward(test.images.double()).argmax(1) == test.labels).float().mean()
        ibp = verified_mask(graph, test.images, test.labels, eps, "ibp").float().mean()
    model.train()
    return {"test_clean": float(clean), "test_ibp_verified": float(ibp)}
