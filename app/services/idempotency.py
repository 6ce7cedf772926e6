"""Job creation that a client may safely retry: the `Idempotency-Key` header.

A client that timed out cannot know whether its job was made. Sent again with the same
key, the request gets the job the first one made instead of a second job; the key is
unique per owner in the database, so even concurrent retries make one job.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Job, Token
from app.errors import Invalid
from app.services.jobs import JobCreate, create_job
from app.settings import Settings

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_sha256(body: JobCreate) -> str:
    """A digest of the request as validated, so that equal bodies spelled differently
    (key order, spaces) count as the same request."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _keyed_job(session: Session, owner: Token, key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.owner_id == owner.id, Job.idempotency_key == key)).first()


def _replay(job: Job, key: str, digest: str) -> Job:
    if job.request_sha256 != digest:
        raise Invalid(f"{HEADER} {key!r} was already used for a different request (job {job.id}); "
                      "use a new key for a new job", idempotency_key=key, job_id=job.id)
    return job


def submit(session: Session, settings: Settings, owner: Token, body: JobCreate, key: str | None) -> tuple[Job, bool]:
    """The committed job for this request and whether it is new (send it to the broker)
    or the one an earlier request with the same key made (422 if its body differed)."""
    if key is None:
        job = create_job(session, settings, owner, body)
        session.commit()
        return job, True
    if not key.isascii() or not key.isprintable():
        raise Invalid(f"{HEADER} must be printable ASCII", idempotency_key=key)
    digest = request_sha256(body)
    earlier = _keyed_job(session, owner, key)
    if earlier is not None:
        return _replay(earlier, key, digest), False
    try:
        job = create_job(session, settings, owner, body, idempotency=(key, digest))
        session.commit()
        return job, True
    except IntegrityError:
        # A concurrent request with the same key committed first: answer with its job.
        session.rollback()
        earlier = _keyed_job(session, owner, key)
        if earlier is None:
            raise
        return _replay(earlier, key, digest), False
