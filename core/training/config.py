"""How a training run is configured: one typed object whose defaults decide.

Schedule lengths left as None are derived from `epochs` (`TrainConfig.resolved`), so a
user who names only a method, an architecture, ε and a number of epochs gets the
published recipe shrunk to fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.numbers import Count, Real, Seed

Method = Literal["ibp", "crown-ibp", "ibp-r", "cc-ibp", "mtl-ibp", "kd", "adv-kd", "faithful-kd"]
DISTILLATION_METHODS = ("kd", "adv-kd", "faithful-kd")
ARCHITECTURES = ("mlp", "mlp-medium", "mlp-small", "cnn-small", "cnn-medium", "cnn7")


class TrainConfig(BaseModel):
    """Configuration of `core.training.train`; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method = Field("ibp", description="Certified-training method.")
    arch: str = Field("cnn-small", description=f"Architecture by name ({', '.join(ARCHITECTURES)}).")
    init_onnx: Path | None = Field(None, description="Fine-tune this ONNX network instead of a new `arch`.")
    teacher: Path | None = Field(None, description="Distillation methods (kd, adv-kd, faithful-kd): the "
                                 "teacher network (ONNX) the student learns from.")
    dataset: Literal["mnist", "cifar10"] = Field("mnist", description="Which task the data is.")
    data: Path | None = Field(None, description="Dataset file or folder (.npz or IDX / CIFAR-10 binary); "
                              "default: $CERTBOUND_SHARED_DIR's full MNIST, else the subset in the package.")
    eps: Real = Field(0.1, gt=0, le=1, description="L∞ radius in pixel units ([0, 1] images).")
    epochs: Count = Field(10, ge=1, description="Passes over the training set.")
    batch_size: Count = Field(128, ge=2, description="Examples per step (BatchNorm needs at least 2).")
    train_subset: Count | None = Field(None, ge=2, description="Train on the first K training examples.")
    test_subset: Count | None = Field(None, ge=1, description="Evaluate on the first K test examples.")
    lr: Real = Field(5e-4, gt=0, description="Adam learning rate.")
    lr_decay_epochs: tuple[Count, ...] | None = Field(
        None, description="Epochs after which the learning rate is multiplied by `lr_decay` (default: at "
        "75% and 90% of the run).")
    lr_decay: Real = Field(0.2, gt=0, le=1, description="Step-decay factor.")
    grad_clip: Real = Field(10.0, gt=0, description="Gradient-norm clipping threshold.")
    warmup_epochs: Count | None = Field(None, ge=0, description="Clean epochs before ε starts (default: 10%).")
    ramp_epochs: Count | None = Field(None, ge=0, description="Epochs over which ε ramps 0→eps (default: 50%).")
    train_eps_factor: Real = Field(1.0, gt=0, description="Train at this multiple of eps (e.g. 1.1 as "
                                    "Gowal et al. for MNIST).")
    kappa_end: Real = Field(0.5, ge=0, le=1, description="IBP / CROWN-IBP: final weight of the clean loss.")
    alpha: Real = Field(0.5, ge=0, le=1, description="CC-IBP / MTL-IBP: weight of the IBP term.")
    ibp_r_lambda: Real = Field(4.0, ge=1, description="IBP-R: attack radius as a multiple of eps.")
    ibp_r_weight: Real = Field(1e-2, ge=0, description="IBP-R: weight of the IBP regulariser.")
    kd_temperature: Real = Field(4.0, gt=0, description="Distillation: softmax temperature τ of the KL term.")
    kd_weight: Real = Field(0.9, ge=0, le=1, description="Distillation: weight of the KL term (the rest: "
                            "cross-entropy with the labels).")
    faithful_weight: Real = Field(0.1, ge=0, description="faithful-kd: weight λ of the bound on the "
                                  "teacher/student confidence gap over the ε-box.")
    attack_steps: Count = Field(1, ge=1, description="Training-time PGD steps (1: random start + one step).")
    warmup_reg: Real = Field(0.5, ge=0, description="Weight of the warm-up regulariser while ε ramps.")
    tightness_target: Real = Field(0.5, gt=0, description="Warm-up regulariser: target interval tightness τ.")
    eval_pgd_steps: Count = Field(20, ge=1, description="Evaluation PGD steps.")
    eval_pgd_restarts: Count = Field(2, ge=1, description="Evaluation PGD restarts.")
    eval_crown_subset: Count = Field(1000, ge=0, description="CROWN on the first K test examples (0: skip).")
    eval_alpha_subset: Count = Field(200, ge=0, description="α-CROWN on the first K test examples (0: skip).")
    complete_subset: Count = Field(20, ge=0, description="Complete verifier on the first K test examples.")
    complete_timeout_s: Real = Field(60.0, gt=0, description="Complete verifier: time limit per example.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when available.")
    seed: Seed = Field(0, description="Seed of initialisation, shuffling and attacks.")

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if self.init_onnx is None and self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHITECTURES)} "
                             "or give init_onnx")
        return self

    @model_validator(mode="after")
    def _check_teacher(self) -> "TrainConfig":
        distilling = self.method in DISTILLATION_METHODS
        if distilling and self.teacher is None:
            raise ValueError(f"method {self.method!r} distils a teacher: give teacher (an ONNX network)")
        if not distilling and self.teacher is not None:
            raise ValueError(f"method {self.method!r} does not use a teacher; the distillation methods are "
                             f"{', '.join(DISTILLATION_METHODS)}")
        return self

    def resolved(self) -> "TrainConfig":
        """A copy with every derived schedule length filled in."""
        changes: dict[str, object] = {}
        if self.warmup_epochs is None:
            changes["warmup_epochs"] = self.epochs // 10
        if self.ramp_epochs is None:
            changes["ramp_epochs"] = max(1, self.epochs // 2)
        if self.lr_decay_epochs is None:
            changes["lr_decay_epochs"] = tuple(sorted({max(1, round(self.epochs * f)) for f in (0.75, 0.9)}
                                                      - {self.epochs}))
        return self.model_copy(update=changes)


class TrainJobConfig(TrainConfig):
    """A train job's config: a distillation method's teacher is the job's model (model_id),
    which the worker fills in, so none is asked for here."""

    @model_validator(mode="after")
    def _check_teacher(self) -> "TrainJobConfig":
        return self
