"""The API's request and response bodies, so the OpenAPI schema states every shape.

Routes build plain dicts in the services; these models are their `response_model`s, so
FastAPI checks each answer against the schema it publishes. A job's `config` is typed
per kind with the engine's own models (`VerifyConfig`, `TrainConfig`), torch-free.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.services.jobs import MIN_TIMEOUT_S, JobCreate, JobKind, JobStatus, ShownJobKind
from core.bab.learned.config import BranchingDataConfig, TrainBrancherJobConfig
from core.compressed_sensing.config import CSConfig
from core.config import VerifyConfig
from core.distillation.config import FaithfulnessJobConfig
from core.pinn.options import PinnOptions
from core.training.config import TrainJobConfig
from core.training.multitask.config import MultiTaskConfig

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601, UTC (`Z`)")]
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$", description="sha256, 64 hex digits")]
Verdict = Literal["sat", "unsat", "unknown", "timeout", "error"]


class Page(BaseModel):
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page; null on the last")


# --- uploads ----------------------------------------------------------------------------

class TensorInfo(BaseModel):
    name: str
    shape: list[int | str | None] = Field(description="dimensions; a name or null where symbolic")


class ModelOut(BaseModel):
    """An uploaded ONNX network and its torch-free summary."""

    id: str
    sha256: Sha256
    filename: str
    size_bytes: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: dict[str, int] = Field(description="ONNX operator: count")
    n_params: int
    opset: int | None
    unsupported: list[str] = Field(description="why the engine cannot run it; empty when it can")
    created_at: Timestamp


class PropertyOut(BaseModel):
    """An uploaded (or generated) VNN-LIB property and its sizes."""

    id: str
    sha256: Sha256
    filename: str
    size_bytes: int
    n_inputs: int
    n_outputs: int
    n_disjuncts: int
    created_at: Timestamp


class RobustnessRequest(BaseModel):
    """An L∞ robustness property to make (core.spec.robustness): the image as `pixels` or
    as `mnist_index`, the radius `eps`, and the `label` to keep."""

    model_config = ConfigDict(extra="forbid")

    pixels: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(
        None, min_length=1, description="the image, flattened in C order, in the valid range")
    mnist_index: int | None = Field(None, ge=0, description="or this test image of the server's MNIST copy "
                                    "(its own numbering: the bundled subset holds 1,000 test images)")
    eps: float = Field(gt=0, allow_inf_nan=False, description="L∞ radius, in the units of the valid range")
    label: int | None = Field(None, ge=0, description="the class to keep; default for `mnist_index`: its label")
    n_classes: int = Field(10, ge=2, le=100_000, description="the network's number of outputs")
    valid_min: float = Field(0.0, allow_inf_nan=False, description="smallest valid pixel value")
    valid_max: float = Field(1.0, allow_inf_nan=False, description="largest valid pixel value")
    filename: str | None = Field(None, max_length=200, description="the stored file's name; default "
                                 "robustness-<label>-<eps>.vnnlib")

    @model_validator(mode="after")
    def _one_image(self) -> "RobustnessRequest":
        if (self.pixels is None) == (self.mnist_index is None):
            raise ValueError("give exactly one of pixels and mnist_index")
        if self.pixels is not None and self.label is None:
            raise ValueError("label is required with pixels")
        return self


class ModelPage(Page):
    items: list[ModelOut]


class PropertyPage(Page):
    items: list[PropertyOut]


# --- jobs: requests -----------------------------------------------------------------------

TimeoutS = Annotated[float | None, Field(
    None, ge=MIN_TIMEOUT_S, strict=True, allow_inf_nan=False,
    description="wall-clock budget in seconds, at least 1 and at most the server's limit; the server "
                "default when absent")]


class VerifyJobRequest(BaseModel):
    """Decide the property on the model; the answer is backed by a certificate or a counterexample."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["verify"] = "verify"
    model_id: str
    property_id: str
    timeout_s: TimeoutS = None
    config: VerifyConfig = Field(default_factory=VerifyConfig,
                                 description="engine options (`core.config.VerifyConfig`); give `timeout_s` at "
                                             "the top level of the job, not here")


class NoConfig(BaseModel):
    """An inspect job has no options: only `{}`."""

    model_config = ConfigDict(extra="forbid")


class InspectJobRequest(BaseModel):
    """Load the model with the engine's ONNX front end and describe the graph it built."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["inspect"]
    model_id: str
    property_id: None = None
    timeout_s: TimeoutS = None
    config: NoConfig = Field(default_factory=NoConfig)


class TrainJobRequest(BaseModel):
    """Certified training on the server's data, fine-tuning `model_id` when given."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["train"]
    model_id: str | None = None
    property_id: None = None
    timeout_s: TimeoutS = None
    config: TrainJobConfig = Field(default_factory=TrainJobConfig,
                                   description="training options (`core.training.TrainConfig`); `data`, "
                                               "`init_onnx` and `teacher` are the server's to choose (422); "
                                               "kd, adv-kd and faithful-kd distil the job's model")


class MultiTaskJobRequest(BaseModel):
    """Multi-task certified training on the server's MNIST copy: one network, a head per task."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["multitask-train"]
    model_id: None = None
    property_id: None = None
    timeout_s: TimeoutS = None
    config: MultiTaskConfig = Field(default_factory=MultiTaskConfig,
                                    description="tasks, combiner and training options "
                                                "(`core.training.multitask.MultiTaskConfig`); `data` is the "
                                                "server's to choose (422)")


class PinnJobRequest(BaseModel):
    """Bound the model's worst-case PDE residual over the domain (a tanh MLP of (t, x))."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pinn"]
    model_id: str
    property_id: None = None
    timeout_s: TimeoutS = None
    config: PinnOptions = Field(default_factory=PinnOptions,
                                description="the PDE, domain, tolerance and splitting budget "
                                            "(`core.pinn.options.PinnOptions`)")


class FaithfulnessJobRequest(BaseModel):
    """Certify a student (`config.student_model_id`) against its teacher (`model_id`) on a
    slice of the server's test set: agreement on each ε-box and the confidence gap."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["faithfulness"]
    model_id: str
    property_id: None = None
    timeout_s: TimeoutS = None
    config: FaithfulnessJobConfig = Field(description="the student, ε, the test slice and the per-example time "
                                                      "limit (`core.distillation.config.FaithfulnessJobConfig`); "
                                                      "`data` is the server's to choose (422)")


class CompressedSensingJobRequest(BaseModel):
    """Train a decoder that recovers the support of k-sparse x from y = A x or sign(A x) and
    prove it on every admissible x; or, with `model_id`, prove that uploaded decoder."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["compressed-sensing"]
    model_id: str | None = None
    property_id: None = None
    timeout_s: TimeoutS = None
    config: CSConfig = Field(default_factory=CSConfig,
                             description="the problem (n, m, k, magnitudes, measurement, A), training and "
                                         "verification options (`core.compressed_sensing.config.CSConfig`)")


class BranchingDataJobRequest(BaseModel):
    """Strong-branching decisions on `model_id` (an MNIST classifier), logged as training data
    for learned branching (docs/branching.md)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["branching-data"]
    model_id: str
    property_id: None = None
    timeout_s: TimeoutS = None
    config: BranchingDataConfig = Field(default_factory=BranchingDataConfig,
                                        description="properties and strong-branching limits "
                                                    "(`core.bab.learned.config.BranchingDataConfig`)")


class TrainBrancherJobRequest(BaseModel):
    """Train the branching GNN on branching-data jobs' shards; verify jobs use the result as
    `config.branching = "gnn:<this job's id>"`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["train-brancher"]
    model_id: None = None
    property_id: None = None
    timeout_s: TimeoutS = None
    config: TrainBrancherJobConfig = Field(description="the branching-data job ids (`data`) and training options "
                                                       "(`core.bab.learned.config.TrainBrancherJobConfig`)")


class _UnknownKind(JobCreate):
    """Any other `kind`: validated only so the 422 names the kind and every other bad field."""

    kind: JobKind  # type: ignore[assignment]  # required: what it got was none of these


JOB_TAGS = ("verify", "inspect", "train", "pinn", "faithfulness", "multitask-train", "compressed-sensing",
            "branching-data", "train-brancher", "other")


def _kind(body: Any) -> str:
    kind = body.get("kind", "verify") if isinstance(body, dict) else getattr(body, "kind", "verify")
    return kind if kind in JOB_TAGS[:-1] else "other"


JobRequest = Annotated[Union[
    Annotated[VerifyJobRequest, Tag("verify")],
    Annotated[InspectJobRequest, Tag("inspect")],
    Annotated[TrainJobRequest, Tag("train")],
    Annotated[PinnJobRequest, Tag("pinn")],
    Annotated[FaithfulnessJobRequest, Tag("faithfulness")],
    Annotated[MultiTaskJobRequest, Tag("multitask-train")],
    Annotated[CompressedSensingJobRequest, Tag("compressed-sensing")],
    Annotated[BranchingDataJobRequest, Tag("branching-data")],
    Annotated[TrainBrancherJobRequest, Tag("train-brancher")],
    Annotated[SkipJsonSchema[_UnknownKind], Tag("other")],
], Discriminator(_kind)]


def job_create(request: VerifyJobRequest | InspectJobRequest | TrainJobRequest | PinnJobRequest
               | FaithfulnessJobRequest | MultiTaskJobRequest | CompressedSensingJobRequest
               | BranchingDataJobRequest | TrainBrancherJobRequest) -> JobCreate:
    """The service's request: the options the client set (never the defaults, so a job
    keeps meaning what it said when a default changes)."""
    config = request.config.model_dump(mode="json", exclude_unset=True)
    return JobCreate(kind=request.kind, model_id=request.model_id, property_id=request.property_id,
                     timeout_s=request.timeout_s, config=config)


# --- jobs: responses ----------------------------------------------------------------------

class JobSubmitted(BaseModel):
    id: str
    status: JobStatus


class Progress(BaseModel):
    """The latest progress report (training reports add their own fields)."""

    model_config = ConfigDict(extra="allow")

    phase: str | None
    domains_visited: int
    domains_open: int
    lower_bound: float | None
    elapsed_s: float


class Evidence(BaseModel):
    """The file GET /jobs/{id}/certificate serves: its sha256 is the download's."""

    kind: Literal["certificate", "counterexample"]
    sha256: Sha256
    size_bytes: int
    media_type: str
    filename: str
    url: str


class JobOut(BaseModel):
    id: str
    kind: ShownJobKind
    status: JobStatus
    verdict: Verdict | None
    model_id: str | None
    property_id: str | None
    timeout_s: float
    config: dict[str, Any] = Field(description="the options the job was submitted with")
    queue: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    attempts: int
    worker: str | None
    cancel_requested: bool
    progress: Progress
    error: str | None
    result: dict[str, Any] | None = Field(description="the kind's result: for verify `message`, `elapsed_s`, "
                                          "`check`, ...; for inspect the graph; for train `model_id` and the report")
    evidence: Evidence | None
    parent_id: str | None = Field(None, description="a sub-job of a verify job with `parallel`: that job's id")


class JobPage(Page):
    items: list[JobOut]


class JobEventOut(BaseModel):
    id: int
    at: Timestamp
    type: str = Field(description="status, progress or cancel")
    data: dict[str, Any]
