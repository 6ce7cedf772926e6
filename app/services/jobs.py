"""Jobs as the API sees them: create (validated against their inputs), read, list, cancel."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Artifact, Job, JobEvent, Model, Property, Token, is_id, isoformat, utcnow
from app.errors import Conflict, Invalid, NotFound
from app.services.frontier import cancel_children
from app.services.job_state import TERMINAL, record_event, request_cancel
from app.services.pages import newest_first
from app.services.queue import choose_queue
from app.services.uploads import get_owned
from app.settings import Settings
from core.compressed_sensing.config import CSConfig
from core.bab.learned.config import BranchingDataConfig, TrainBrancherJobConfig  # torch-free
from core.config import GNN_PREFIX, VerifyConfig
from core.distillation.config import FaithfulnessJobConfig
from core.pinn.options import PinnOptions, model_problem
from core.training.config import DISTILLATION_METHODS, TrainJobConfig  # torch-free (lazy core.training)
from core.training.multitask.config import MultiTaskConfig

JobKind = Literal["verify", "inspect", "train", "pinn", "faithfulness", "multitask-train", "compressed-sensing",
                  "branching-data", "train-brancher"]
# Kinds a job row can have: the submitted ones, and a distributed verify job's sub-jobs.
ShownJobKind = Literal["verify", "inspect", "train", "pinn", "faithfulness", "multitask-train", "compressed-sensing",
                       "branching-data", "train-brancher", "verify-part", "lemma-part", "check-part"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
# Which inputs each kind needs: verify proves a property of a model; inspect loads a
# model; train makes a new model (or fine-tunes the model given); pinn bounds a model's
# PDE residual (the PDE is in its config).
NEEDS_PROPERTY = {"verify": True, "inspect": False, "train": False, "pinn": False, "faithfulness": False,
                  "multitask-train": False, "compressed-sensing": False, "branching-data": False,
                  "train-brancher": False}
NEEDS_MODEL = {"verify": True, "inspect": True, "train": False, "pinn": True, "faithfulness": True,
               "multitask-train": False, "compressed-sensing": False, "branching-data": True, "train-brancher": False}
# Training options that name files on the server: the service decides those itself.
SERVER_PATHS = ("data", "init_onnx", "teacher")
# A job shorter than a second cannot even load its model; below it a timeout is a typo.
MIN_TIMEOUT_S = 1.0
# The largest event id: job_events.id is a 32-bit SERIAL on PostgreSQL (64-bit on SQLite);
# a larger `after` or Last-Event-ID overflowed the query (a 500, or a stream cut after its 200).
EVENT_ID_MAX = 2**31 - 1


class JobCreate(BaseModel):
    """The body of POST /jobs."""

    model_config = ConfigDict(extra="forbid")

    kind: JobKind = "verify"
    model_id: str | None = None
    property_id: str | None = None
    timeout_s: float | None = Field(None, ge=MIN_TIMEOUT_S, strict=True, allow_inf_nan=False,
                                    description="wall-clock budget in seconds, at least 1 and at most the "
                                    "server's limit; the server default when absent")
    config: dict[str, Any] = Field(default_factory=dict, description="VerifyConfig fields (verify) or "
                                   "TrainConfig fields (train)")


def flat_size(shape: list[Any]) -> int:
    """Elements per example: symbolic or non-positive dimensions (batch) count as 1."""
    return math.prod(dim for dim in shape if isinstance(dim, int) and dim > 0)


def check_sizes(model: Model, prop: Property) -> None:
    n_in = sum(flat_size(io["shape"]) for io in model.summary["inputs"])
    n_out = sum(flat_size(io["shape"]) for io in model.summary["outputs"])
    if (n_in, n_out) != (prop.n_inputs, prop.n_outputs):
        raise Invalid(f"model {model.filename!r} has {n_in} inputs and {n_out} outputs, but property "
                      f"{prop.filename!r} speaks of {prop.n_inputs} inputs and {prop.n_outputs} outputs")


def check_config(config: dict[str, Any], timeout_s: float) -> None:
    """Reject engine options the engine would reject, before the job is queued."""
    if "timeout_s" in config:
        raise Invalid("config.timeout_s: give timeout_s at the top level of the job, not inside config")
    _validate(VerifyConfig, {**config, "timeout_s": timeout_s})


def check_brancher_ref(session: Session, owner: Token, config: dict[str, Any]) -> None:
    """`branching: "gnn:<id>"` must name the owner's succeeded train-brancher job, in a job
    that runs in one piece; the brancher file itself is the server's to choose."""
    if "brancher" in config:
        raise Invalid("config.brancher: a verify job cannot name server files; give branching \"gnn:<id>\", the "
                      "id of your train-brancher job")
    branching = str(config.get("branching", ""))
    if not branching.startswith(GNN_PREFIX):
        return
    brancher_id = branching[len(GNN_PREFIX):]
    trained = session.get(Job, brancher_id)
    if trained is None or trained.owner_id != owner.id or trained.kind != "train-brancher":
        raise Invalid(f"config.branching: no train-brancher job {brancher_id!r} among yours")
    if trained.status != "succeeded":
        raise Invalid(f"config.branching: train-brancher job {brancher_id!r} is {trained.status}, not succeeded")
    if config.get("parallel") not in (None, 1):
        raise Invalid("config.parallel: a verify job with a gnn brancher runs in one piece (parallel 1)")


def check_train_brancher_config(session: Session, owner: Token, config: dict[str, Any]) -> None:
    """Reject options `TrainBrancherJobConfig` rejects, and data that is not the owner's
    succeeded branching-data jobs."""
    _validate(TrainBrancherJobConfig, config)
    for data_id in config["data"]:
        data = session.get(Job, data_id)
        if data is None or data.owner_id != owner.id or data.kind != "branching-data":
            raise Invalid(f"config.data: no branching-data job {data_id!r} among yours")
        if data.status != "succeeded":
            raise Invalid(f"config.data: branching-data job {data_id!r} is {data.status}, not succeeded")


def _validate(model: type[BaseModel], config: dict[str, Any]) -> None:
    """Build `model` from `config`, turning pydantic's errors into one 422 naming every field."""
    try:
        model(**config)
    except ValidationError as exc:
        problems = [f"config{''.join(f'.{part}' for part in error['loc'])}: {error['msg']}" for error in exc.errors()]
        raise Invalid("invalid config: " + "; ".join(problems), problems=problems) from exc


def check_train_config(config: dict[str, Any], model: Model | None) -> None:
    """Reject training options that name server files, or that `TrainConfig` rejects, and a
    distillation method without its teacher (the job's model)."""
    named = [key for key in SERVER_PATHS if key in config]
    if named:
        raise Invalid(f"config.{named[0]}: a train job cannot name server files; it trains on the server's "
                      "MNIST copy, and fine-tunes (kd, adv-kd, faithful-kd: distils) the model given as model_id")
    _validate(TrainJobConfig, config)
    if config.get("method") in DISTILLATION_METHODS and model is None:
        raise Invalid(f"a {config['method']} train job needs model_id: the teacher to distil")


def check_multitask_config(config: dict[str, Any]) -> None:
    """Reject multi-task options that name server files, or that `MultiTaskConfig` rejects."""
    named = [key for key in SERVER_PATHS if key in config]
    if named:
        raise Invalid(f"config.{named[0]}: a multitask-train job cannot name server files; it trains on the "
                      "server's MNIST copy")
    _validate(MultiTaskConfig, config)


def check_faithfulness_config(session: Session, owner: Token, config: dict[str, Any], teacher: Model) -> None:
    """Reject options `FaithfulnessJobConfig` rejects, server paths, a student that is not one
    of the owner's models, and a pair whose inputs or classes differ."""
    if "data" in config:
        raise Invalid("config.data: a faithfulness job cannot name server files; it uses the server's test set")
    _validate(FaithfulnessJobConfig, config)
    try:
        student = get_owned(session, Model, owner, config["student_model_id"])
    except NotFound:
        raise Invalid(f"config.student_model_id: no model {config['student_model_id']!r} among yours "
                      "(the student to certify)") from None
    if student.summary.get("unsupported"):
        raise Invalid(f"student model {student.filename!r} cannot be run: " + "; ".join(student.summary["unsupported"]))
    for what in ("inputs", "outputs"):
        sizes = [sum(flat_size(io["shape"]) for io in m.summary[what]) for m in (teacher, student)]
        if sizes[0] != sizes[1]:
            raise Invalid(f"the teacher {teacher.filename!r} has {sizes[0]} {what}, the student "
                          f"{student.filename!r} {sizes[1]}: they must match")


def check_pinn_config(config: dict[str, Any], model: Model) -> None:
    """Reject PINN options `PinnOptions` rejects, and a model that is no tanh MLP of the
    PDE's inputs and outputs."""
    _validate(PinnOptions, config)
    problem = model_problem(model.summary, PinnOptions(**config).pde)
    if problem:
        raise Invalid(f"model {model.filename!r}: {problem}")


def check_cs_config(config: dict[str, Any], model: Model | None) -> None:
    """Reject options `CSConfig` rejects, and a decoder (the job's model, when given) that
    does not map m measurements to n scores."""
    _validate(CSConfig, config)
    if model is not None:
        cs = CSConfig(**config)
        sizes = [sum(flat_size(io["shape"]) for io in model.summary[what]) for what in ("inputs", "outputs")]
        if sizes != [cs.m, cs.n]:
            raise Invalid(f"model {model.filename!r} maps {sizes[0]} inputs to {sizes[1]} outputs; a decoder for "
                          f"this problem maps m = {cs.m} measurements to n = {cs.n} scores")


def create_job(session: Session, settings: Settings, owner: Token, request: JobCreate,
               idempotency: tuple[str, str] | None = None) -> Job:
    """A queued job row (not yet sent to the broker: the caller commits, then enqueues);
    `idempotency` is the (Idempotency-Key, request sha256) it is recorded with."""
    if NEEDS_MODEL[request.kind] and request.model_id is None:
        raise Invalid(f"a {request.kind} job needs model_id")
    model = get_owned(session, Model, owner, request.model_id) if request.model_id is not None else None
    if model is not None and model.summary.get("unsupported"):
        raise Invalid(f"model {model.filename!r} cannot be run: " + "; ".join(model.summary["unsupported"]))
    prop = None
    if NEEDS_PROPERTY[request.kind]:
        if request.property_id is None:
            raise Invalid(f"a {request.kind} job needs property_id")
        prop = get_owned(session, Property, owner, request.property_id)
        check_sizes(model, prop)
    elif request.property_id is not None:
        raise Invalid(f"a {request.kind} job takes no property_id")
    timeout_s = request.timeout_s or settings.default_timeout_s
    if timeout_s > settings.max_timeout_s:
        raise Invalid(f"timeout_s {timeout_s} exceeds this server's limit of {settings.max_timeout_s}")
    if request.kind == "verify":
        check_config(request.config, timeout_s)
        check_brancher_ref(session, owner, request.config)
    elif request.kind == "branching-data":
        _validate(BranchingDataConfig, request.config)
    elif request.kind == "train-brancher":
        check_train_brancher_config(session, owner, request.config)
    elif request.kind == "train":
        check_train_config(request.config, model)
    elif request.kind == "multitask-train":
        check_multitask_config(request.config)
    elif request.kind == "pinn":
        check_pinn_config(request.config, model)
    elif request.kind == "faithfulness":
        check_faithfulness_config(session, owner, request.config, model)
    elif request.kind == "compressed-sensing":
        check_cs_config(request.config, model)
    elif request.config:
        raise Invalid(f"a {request.kind} job takes no config")
    queue = choose_queue(session, settings, request.kind, request.config)
    job = Job(owner_id=owner.id, kind=request.kind, status="queued", model_id=model.id if model else None,
              property_id=prop.id if prop else None, timeout_s=timeout_s, config=request.config,
              queue=queue, created_at=utcnow(), enqueued_at=utcnow(), attempts=0, cancel_requested=False)
    if idempotency is not None:
        job.idempotency_key, job.request_sha256 = idempotency
    session.add(job)
    session.flush()
    record_event(session, job.id, "status", {"status": "queued"})
    return job


def checkpoint_dir(settings: Settings, job_id: str) -> Path:
    """Where a train job keeps its per-epoch checkpoints while a re-run may resume from them."""
    return settings.data_dir / "checkpoints" / job_id


def get_job(session: Session, owner: Token, job_id: str) -> Job:
    job = session.get(Job, job_id) if is_id(job_id) else None
    if job is None or job.owner_id != owner.id:
        raise NotFound("job", job_id)
    return job


def list_jobs(session: Session, owner: Token, *, status: str | None = None, kind: str | None = None,
              limit: int = 50, cursor: str | None = None) -> tuple[list[Job], str | None]:
    """The owner's jobs, newest first; returns a page and the cursor of the next one."""
    query = select(Job).where(Job.owner_id == owner.id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return newest_first(session, query, Job, limit, cursor)


def cancel_job(session: Session, owner: Token, job_id: str) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (the worker
    sees the flag through the engine's progress callback). A distributed verify job's
    sub-jobs are cancelled with it, even where its own worker died."""
    job = get_job(session, owner, job_id)
    if job.status in TERMINAL:
        raise Conflict(f"job {job_id!r} already finished ({job.status}); there is nothing to cancel")
    cancel_children(session, job.id)
    request_cancel(session, job)
    return job


def job_events(session: Session, owner: Token, job_id: str, after: int = 0) -> list[JobEvent]:
    get_job(session, owner, job_id)
    query = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > after).order_by(JobEvent.id)
    return list(session.scalars(query))


def evidence_artifact(session: Session, job: Job) -> Artifact | None:
    """What backs the job's verdict: a sat's counterexample, an unsat's certificate, or the
    certificate of an unknown whose check ran out of time (kept to check offline)."""
    kind = "counterexample" if job.verdict == "sat" else "certificate"
    return session.scalars(select(Artifact).where(Artifact.job_id == job.id, Artifact.kind == kind)).first()


def job_json(job: Job, evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    """A job as the API shows it; `evidence` is app.services.evidence.evidence_json's."""
    progress = {"phase": None, "domains_visited": 0, "domains_open": 0, "lower_bound": None, "elapsed_s": 0.0}
    progress.update(job.progress or {})
    return {"id": job.id, "kind": job.kind, "status": job.status, "verdict": job.verdict,
            "model_id": job.model_id, "property_id": job.property_id, "timeout_s": job.timeout_s,
            "config": job.config, "queue": job.queue, "created_at": isoformat(job.created_at), "started_at": isoformat(job.started_at),
            "finished_at": isoformat(job.finished_at), "attempts": job.attempts, "worker": job.worker,
            "cancel_requested": job.cancel_requested, "progress": progress, "error": job.error, "result": job.result,
            "evidence": evidence, "parent_id": job.parent_id}


def event_json(event: JobEvent) -> dict[str, Any]:
    return {"id": event.id, "at": isoformat(event.at), "type": event.type, "data": event.data}
