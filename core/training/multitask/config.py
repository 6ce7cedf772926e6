"""How a multi-task training run is configured: `TrainConfig` plus the tasks, the heads and
how the tasks' losses are combined.

Each task is a loss on one head: its labels (`label`: a column of the dataset), and an
existing certified-training objective at its own ε (`method`, `eps`; "clean" is plain
cross-entropy). Unset `method` / `eps` take the run's `method` / `eps`, so robust MNIST at
three radii is `tasks=[{"eps": 0.05}, {"eps": 0.1}, {"eps": 0.2}]`. Torch-free: the API
validates a job's config with it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.numbers import Count, Real
from core.training.config import Method, TrainConfig

TaskMethod = Literal["clean", "ibp", "crown-ibp", "ibp-r", "cc-ibp", "mtl-ibp"]
CombinerName = Literal["unitary", "mgda-ub", "pcgrad", "graddrop", "imtl-g", "cagrad", "rlw"]
COMBINERS: tuple[str, ...] = CombinerName.__args__
# Single-task evaluation settings that multi-task evaluation has no use for: refused, not ignored.
UNUSED = ("eval_pgd_steps", "eval_pgd_restarts", "eval_alpha_subset", "complete_subset", "complete_timeout_s")
# The label columns each dataset offers: Multi-MNIST's two digits, MNIST's one.
LABELS = {"multi-mnist": ("left", "right"), "mnist": ("digit",)}


class Task(BaseModel):
    """One task: a loss on the labels `label` through its head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(None, description="Label column: left / right (multi-mnist), digit (mnist); "
                              "default: the dataset's columns in turn.")
    method: TaskMethod | None = Field(None, description="clean, or a certified-training method (default: the "
                                      "run's `method`; clean when the run's is not set and eps is 0).")
    eps: Real | None = Field(None, ge=0, le=1, description="L∞ radius of this task (default: the run's `eps`; "
                             "0 for a clean task).")


class MultiTaskConfig(TrainConfig):
    """Configuration of `core.training.multitask.train_multitask`; unknown fields are an error."""

    dataset: Literal["multi-mnist", "mnist"] = Field(  # type: ignore[assignment]
        "multi-mnist", description="multi-mnist: two overlaid digits (tasks left, right); mnist: one digit, "
        "tasks differ in ε or method.")
    method: TaskMethod = Field("clean", description="Default method of the tasks.")  # type: ignore[assignment]
    eps: Real = Field(0.0, ge=0, le=1, description="Default L∞ radius of the tasks.")  # type: ignore[assignment]
    arch: str = Field("mlp", description="Trunk architecture (mlp, cnn-small, cnn-medium, cnn7); the last "
                      "layer is replaced by the heads.")
    tasks: tuple[Task, ...] = Field((Task(label="left"), Task(label="right")), min_length=1, max_length=16,
                                    description="The tasks; default: Multi-MNIST's left and right digits.")
    heads: Literal["separate", "shared"] = Field("separate", description="A linear head per task on the shared "
                                                 "trunk, or one head all tasks share (they must share labels).")
    combiner: CombinerName = Field("unitary", description="How the task losses become one update: unitary "
                                   "(their plain sum) or one of the multi-task optimisers.")
    cagrad_c: Real = Field(0.5, ge=0, description="CAGrad: radius of the ball around the mean gradient, "
                           "relative to its norm.")
    weight_decay: Real = Field(0.0, ge=0, description="L2 penalty added by Adam to every parameter's gradient.")
    dropout: Real = Field(0.0, ge=0, lt=1, description="Drop rate of the heads' input units (one mask per batch).")
    early_stopping: Count | None = Field(None, ge=1, description="Stop after this many epochs without a better "
                                         "validation score, and keep the best epoch's network.")
    val_fraction: Real = Field(0.1, gt=0, lt=1, description="Early stopping: share of the training set held out.")

    @model_validator(mode="after")
    def _check_tasks(self) -> "MultiTaskConfig":
        if self.init_onnx is not None:
            raise ValueError("init_onnx: multi-task training starts from a fresh trunk (fine-tuning is for train)")
        unused = sorted(self.model_fields_set & set(UNUSED))
        if unused:
            raise ValueError(f"{unused[0]}: multi-task evaluation runs IBP and CROWN only (eval_crown_subset); "
                             "no PGD, α-CROWN or complete-verifier figures")
        columns = LABELS[self.dataset]
        for i, task in enumerate(self.tasks):
            if task.label is not None and task.label not in columns:
                raise ValueError(f"tasks.{i}.label: {self.dataset} has labels {', '.join(columns)}, "
                                 f"not {task.label!r}")
        resolved = self.resolved_tasks()
        for i, task in enumerate(resolved):
            if (task.method == "clean") != (task.eps == 0):
                raise ValueError(f"tasks.{i}: method {task.method} with eps {task.eps} (a clean task has eps 0, "
                                 "a certified one eps > 0)")
        if self.heads == "shared" and len({t.label for t in resolved}) > 1:
            raise ValueError("heads: one shared head needs every task on the same labels; use separate heads")
        return self

    def resolved_tasks(self) -> tuple[Task, ...]:
        """The tasks with every default filled in: label, method and eps all set."""
        columns = LABELS[self.dataset]
        out = []
        for i, task in enumerate(self.tasks):
            eps = self.eps if task.eps is None else task.eps
            method = task.method or (self.method if self.method != "clean" or eps == 0 else "ibp")
            out.append(Task(label=task.label or columns[i % len(columns)], method=method, eps=eps))
        return tuple(out)

    def task_config(self, task: Task) -> TrainConfig:
        """The single-task `TrainConfig` whose loss and schedule this task uses (resolved)."""
        fields = {k: v for k, v in self.resolved().model_dump().items() if k in TrainConfig.model_fields}
        method: Method = "ibp" if task.method == "clean" else task.method
        fields.update(method=method, eps=task.eps or self.eps or 0.1, dataset="mnist")
        return TrainConfig(**fields)
