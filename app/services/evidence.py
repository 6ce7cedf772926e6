"""What backs a job's verdict, as the file a user downloads and checks.

An unsat's certificate is the zip `certbound check NET PROP CERT` reads; a sat's
counterexample is a VNN-COMP result file. The artifact store keeps exactly those bytes,
so the one sha256 (the artifact row's, the store's key) is the sha256 of the download.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Artifact, Job, Token
from app.errors import Conflict
from app.services.job_state import TERMINAL
from app.services.jobs import evidence_artifact, get_job
from app.storage import ArtifactStore

MEDIA_TYPES = {"certificate": "application/zip", "counterexample": "text/plain; charset=utf-8"}
SUFFIXES = {"certificate": "certificate.zip", "counterexample": "counterexample.txt"}
URL = "/api/v1/jobs/{job_id}/certificate"


@dataclass(frozen=True)
class EvidenceFile:
    """A job's certificate or counterexample: the bytes, and what to call them."""

    job_id: str
    kind: str
    data: bytes
    sha256: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @property
    def filename(self) -> str:
        return f"{self.job_id}.{SUFFIXES[self.kind]}"


def evidence_json(artifact: Artifact | None) -> dict[str, Any] | None:
    """The `evidence` of a job's JSON: what GET /jobs/{id}/certificate serves, and its sha256."""
    if artifact is None:
        return None
    return {"kind": artifact.kind, "sha256": artifact.sha256, "size_bytes": artifact.size_bytes,
            "media_type": MEDIA_TYPES[artifact.kind], "filename": f"{artifact.job_id}.{SUFFIXES[artifact.kind]}",
            "url": URL.format(job_id=artifact.job_id)}


def evidence_of(session: Session, jobs: list[Job]) -> dict[str, Artifact]:
    """The evidence artifact of each job that has one, by job id, in one query."""
    if not jobs:
        return {}
    wanted = {job.id: "counterexample" if job.verdict == "sat" else "certificate" for job in jobs}
    rows = session.scalars(select(Artifact).where(Artifact.job_id.in_(wanted)))
    return {row.job_id: row for row in rows if wanted[row.job_id] == row.kind}


def evidence_file(session: Session, store: ArtifactStore, owner: Token, job_id: str) -> EvidenceFile:
    """The job's evidence file; NotFound for another owner's job, Conflict when it has none."""
    job = get_job(session, owner, job_id)
    artifact = evidence_artifact(session, job)
    if artifact is None:
        raise Conflict(_missing(job))
    data = store.read(artifact.sha256)
    if data[:1] == b"{":  # stored before the file itself was: a JSON wrapper
        data = _unwrap(artifact.kind, json.loads(data))
        artifact.sha256, artifact.size_bytes = store.put_bytes(data), len(data)
        session.commit()
    return EvidenceFile(job.id, artifact.kind, data, artifact.sha256)


def _missing(job: Job) -> str:
    if job.status not in TERMINAL:
        return f"job {job.id!r} is {job.status}: it has a certificate or counterexample only once it finishes"
    if job.kind != "verify":
        return f"job {job.id!r} is a {job.kind} job: only verify jobs have a certificate or counterexample"
    return (f"job {job.id!r} finished ({job.status}) with verdict {job.verdict}: only unsat (certificate) "
            "and sat (counterexample) have a file")


def _unwrap(kind: str, wrapper: dict[str, Any]) -> bytes:
    """The file inside an artifact stored by an earlier version as JSON."""
    if kind == "certificate":
        return base64.b64decode(wrapper["zip_base64"])
    from core.counterexample import result_text  # numpy and onnxruntime, never torch; rare

    return result_text("sat", wrapper["x"], wrapper["y"]).encode()
