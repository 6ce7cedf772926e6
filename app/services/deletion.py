"""Deleting an owner's models, properties and jobs, with the files only they used.

A job's history needs its inputs, so a model or property that jobs name is not deleted
(409 naming those jobs: delete them first). A job that has not finished is not deleted
either (409: cancel it first), so no worker writes to a job that is gone. The artifact
store is content-addressed and shared by every owner: a file goes only when no row of
any owner names its sha256 any more.
"""

from __future__ import annotations

import shutil

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import Artifact, Job, JobEvent, Model, Token
from app.errors import Conflict
from app.services.job_state import TERMINAL
from app.services.jobs import checkpoint_dir, get_job
from app.services.uploads import Row, discard_unreferenced, get_owned
from app.settings import Settings
from app.storage import ArtifactStore

NAMED_JOBS = 10  # a 409 names at most this many of the jobs in the way


def delete_upload(session: Session, store: ArtifactStore, row_type: type[Row], owner: Token, object_id: str) -> None:
    """Delete the owner's model or property and, unless shared, its file; Conflict while jobs name it."""
    row = get_owned(session, row_type, owner, object_id)
    column = Job.model_id if row_type is Model else Job.property_id
    users = list(session.scalars(select(Job.id).where(column == row.id).order_by(Job.created_at)))
    if users:
        what = row_type.__name__.lower()
        named = ", ".join(users[:NAMED_JOBS]) + (f" and {len(users) - NAMED_JOBS} more" if len(users) > NAMED_JOBS else "")
        raise Conflict(f"{what} {object_id!r} is used by {len(users)} job(s): {named}; delete those jobs first",
                       job_ids=users)
    session.delete(row)
    session.commit()
    discard_unreferenced(session, store, row.sha256)


def delete_job(session: Session, store: ArtifactStore, settings: Settings, owner: Token, job_id: str) -> None:
    """Delete a finished job with its events and artifacts (and their files, unless shared)
    and any checkpoints a train job left; Conflict while it is queued or running. A model
    a train job made stays: it is a model."""
    job = get_job(session, owner, job_id)
    if job.status not in TERMINAL:
        raise Conflict(f"job {job_id!r} is {job.status}: cancel it first (POST /jobs/{job_id}/cancel), "
                       "then delete it once it has stopped")
    files = list(session.scalars(select(Artifact.sha256).where(Artifact.job_id == job.id)))
    session.execute(delete(Artifact).where(Artifact.job_id == job.id))
    session.execute(delete(JobEvent).where(JobEvent.job_id == job.id))
    session.delete(job)
    session.commit()
    for sha256 in files:
        discard_unreferenced(session, store, sha256)
    shutil.rmtree(checkpoint_dir(settings, job_id), ignore_errors=True)
