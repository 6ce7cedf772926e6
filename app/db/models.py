"""The service's tables: tokens (owners), uploads, jobs, their events and artifacts.

The job row is the source of truth for a job's state; Celery only carries its id.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so every timestamp is UTC by convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def isoformat(moment: datetime | None) -> str | None:
    """A stored (naive UTC) timestamp as ISO 8601 with its zone spelled out."""
    return None if moment is None else moment.isoformat() + "Z"


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(text: str) -> bool:
    """Whether `text` could be an id `new_id` made: anything else is absent without asking
    the database (PostgreSQL answers a NUL in a query parameter with an error, a 500)."""
    return len(text) == 32 and all(char in "0123456789abcdef" for char in text)


class Base(DeclarativeBase):
    pass


class Token(Base):
    """An API token; each token is its own owner of models, properties and jobs. A revoked
    or expired token is kept (its uploads and jobs still name it) but authenticates nobody."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # None: never
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UploadColumns:
    """What every upload row has: an owner and bytes in the artifact store under sha256."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Model(UploadColumns, Base):
    """An uploaded ONNX network and its torch-free summary."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("owner_id", "sha256", name="uq_models_owner_sha256"),)

    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class Property(UploadColumns, Base):
    """An uploaded VNN-LIB property and its sizes."""

    __tablename__ = "properties"
    __table_args__ = (UniqueConstraint("owner_id", "sha256", name="uq_properties_owner_sha256"),)

    n_inputs: Mapped[int] = mapped_column(Integer)
    n_outputs: Mapped[int] = mapped_column(Integer)
    n_disjuncts: Mapped[int] = mapped_column(Integer)


class Job(Base):
    """One unit of work for a worker, with its whole observable state."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
        # One job per owner and Idempotency-Key (NULL keys never collide).
        Index("uq_jobs_owner_idempotency_key", "owner_id", "idempotency_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    model_id: Mapped[str | None] = mapped_column(ForeignKey("models.id"), nullable=True)
    property_id: Mapped[str | None] = mapped_column(ForeignKey("properties.id"), nullable=True)
    timeout_s: Mapped[float] = mapped_column(Float)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The Idempotency-Key the job was created with, and the sha256 of its request body.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A sub-job of a distributed verify job (docs/distributed.md): its parent's id.
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class JobEvent(Base):
    """A progress report or state change of a job, in the order it happened."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Artifact(Base):
    """A file a job produced (certificate, counterexample, ...), stored by sha256."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("job_id", "kind", name="uq_artifacts_job_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FrontierPiece(Base):
    """Part of a distributed search's state, bytes in the artifact store: a holder job's
    latest frontier snapshot ("snapshot"), a holder asked for domains by `asker`
    ("request"), or domains granted to `holder` and not yet taken ("grant")."""

    __tablename__ = "frontier_pieces"
    __table_args__ = (Index("ix_frontier_pieces_holder_kind", "holder", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)  # the parent job
    holder: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    asker: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    domains: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkerBeat(Base):
    """A worker process's latest sign of life, so health checks need no broker broadcast."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    queues: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
