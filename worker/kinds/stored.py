"""Files other jobs of the same owner stored, for kinds that build on them (learned
branching: shards for training, a brancher for verification)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.db.models import Artifact, Job
from app.db.session import session_scope

if TYPE_CHECKING:
    from worker.runner import JobContext


class MissingArtifact(LookupError):
    """The job named is not the owner's, not of the right kind or has no such file."""


def job_artifact(context: "JobContext", job_id: str, job_kind: str, artifact_kind: str) -> bytes:
    """The bytes of artifact `artifact_kind` of the owner's job `job_id` of kind `job_kind`."""
    with session_scope(context.settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None or job.owner_id != context.job.owner_id or job.kind != job_kind:
            raise MissingArtifact(f"no {job_kind} job {job_id!r} among the owner's")
        artifact = session.scalars(select(Artifact).where(Artifact.job_id == job_id,
                                                          Artifact.kind == artifact_kind)).first()
        if artifact is None:
            raise MissingArtifact(f"{job_kind} job {job_id!r} stored no {artifact_kind}")
        sha = artifact.sha256
    return context.store.read(sha)


def brancher_file(context: "JobContext", job_id: str) -> Path:
    """A file holding the brancher the owner's train-brancher job `job_id` stored (kept
    under the data directory: verify jobs read it by path)."""
    path = context.settings.data_dir / "branchers" / f"{job_id}.brancher"
    data = job_artifact(context, job_id, "train-brancher", "brancher")
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
    return path
