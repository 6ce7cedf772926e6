"""How a faithfulness run is configured (torch-free: the API validates job configs with it)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.numbers import Count, Real, Seed


class FaithfulnessConfig(BaseModel):
    """Certify a teacher/student pair on a slice of the test set; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eps: Real = Field(0.1, gt=0, le=1, description="L∞ radius in pixel units ([0, 1] images).")
    n: Count = Field(20, ge=1, le=10_000, description="Test examples to certify.")
    start: Count = Field(0, ge=0, description="The first test example of the slice.")
    dataset: Literal["mnist", "cifar10"] = Field("mnist", description="Which task the data is.")
    data: Path | None = Field(None, description="Dataset file or folder (as for training); default: "
                              "$CERTBOUND_SHARED_DIR's full MNIST, else the subset in the package.")
    example_timeout_s: Real = Field(10.0, gt=0, description="The verifier's time limit per example.")
    attack_restarts: Count = Field(5, ge=1, description="PGD restarts of the disagreement and gap attacks.")
    attack_steps: Count = Field(50, ge=1, description="PGD steps of the disagreement and gap attacks.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when available.")
    threads: Count | None = Field(None, ge=1, description="CPU threads (default: the engine's choice).")
    seed: Seed = Field(0, description="Seed of the attacks.")


class FaithfulnessJobConfig(FaithfulnessConfig):
    """A faithfulness job's config: the job's model is the teacher, `student_model_id` names
    the student among the owner's models; the data is the server's (`data` is refused)."""

    student_model_id: str = Field(description="The student network: one of your models, by id.")
