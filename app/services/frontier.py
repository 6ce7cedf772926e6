"""The database side of a distributed search (docs/distributed.md): each holder job's
latest frontier snapshot, and requests and grants of domains between holders.

Every hand-over is one transaction with the giver's new snapshot, and each step is a
conditional UPDATE or DELETE, so a domain is never held twice nor lost: a request the
asker withdrew cannot become a grant, and a grant is consumed in the transaction that
writes the taker's snapshot holding its domains. The bytes live in the artifact store.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db.models import FrontierPiece, Job, utcnow
from app.services.job_state import TERMINAL, record_event, request_cancel
from app.storage import ArtifactStore

SNAPSHOT, REQUEST, GRANT = "snapshot", "request", "grant"


def save_snapshot(session: Session, store: ArtifactStore, parent_id: str, holder: str, data: bytes,
                  domains: int) -> None:
    """Replace `holder`'s snapshot (in the caller's transaction)."""
    sha = store.put_bytes(data)
    done = session.execute(update(FrontierPiece).where(FrontierPiece.holder == holder, FrontierPiece.kind == SNAPSHOT)
                           .values(sha256=sha, domains=domains, updated_at=utcnow())).rowcount
    if not done:
        session.add(FrontierPiece(job_id=parent_id, holder=holder, kind=SNAPSHOT, sha256=sha, domains=domains,
                                  updated_at=utcnow()))
        session.flush()


def snapshot_of(session: Session, store: ArtifactStore, holder: str) -> bytes | None:
    sha = session.scalar(select(FrontierPiece.sha256).where(FrontierPiece.holder == holder,
                                                            FrontierPiece.kind == SNAPSHOT))
    return None if sha is None else store.read(sha)


def snapshots(session: Session, store: ArtifactStore, parent_id: str) -> dict[str, bytes]:
    """Every holder's latest snapshot of the search under `parent_id`."""
    rows = session.execute(select(FrontierPiece.holder, FrontierPiece.sha256)
                           .where(FrontierPiece.job_id == parent_id, FrontierPiece.kind == SNAPSHOT)).all()
    return {holder: store.read(sha) for holder, sha in rows}


def snapshot_sizes(session: Session, parent_id: str) -> dict[str, int]:
    """Open domains per holder at its latest snapshot."""
    rows = session.execute(select(FrontierPiece.holder, FrontierPiece.domains)
                           .where(FrontierPiece.job_id == parent_id, FrontierPiece.kind == SNAPSHOT)).all()
    return dict(rows)


def ask(session: Session, parent_id: str, victim: str, asker: str) -> int:
    piece = FrontierPiece(job_id=parent_id, holder=victim, kind=REQUEST, asker=asker, domains=0, updated_at=utcnow())
    session.add(piece)
    session.flush()
    return piece.id


def requests_for(session: Session, holder: str) -> list[tuple[int, str]]:
    """(request id, asker) of the requests waiting for `holder`, oldest first."""
    return list(session.execute(select(FrontierPiece.id, FrontierPiece.asker).where(
        FrontierPiece.holder == holder, FrontierPiece.kind == REQUEST).order_by(FrontierPiece.id)).all())


def grant(session: Session, store: ArtifactStore, request_id: int, asker: str, data: bytes, domains: int) -> bool:
    """Turn a request into a grant of `data` to its asker; False when it was withdrawn."""
    sha = store.put_bytes(data)
    return bool(session.execute(update(FrontierPiece).where(FrontierPiece.id == request_id,
                                                            FrontierPiece.kind == REQUEST)
                                .values(kind=GRANT, holder=asker, sha256=sha, domains=domains,
                                        updated_at=utcnow())).rowcount)


def withdraw(session: Session, request_id: int) -> bool:
    """Delete a request not yet granted (a decline, or an asker giving up); False when it was."""
    return bool(session.execute(delete(FrontierPiece).where(FrontierPiece.id == request_id,
                                                            FrontierPiece.kind == REQUEST)).rowcount)


def is_pending(session: Session, request_id: int) -> bool:
    """Whether a request still waits for an answer (neither granted nor declined)."""
    return session.scalar(select(FrontierPiece.kind).where(FrontierPiece.id == request_id)) == REQUEST


def grants_for(session: Session, holder: str) -> list[tuple[int, str]]:
    """(grant id, sha256) of the domains granted to `holder` and not yet taken."""
    return list(session.execute(select(FrontierPiece.id, FrontierPiece.sha256).where(
        FrontierPiece.holder == holder, FrontierPiece.kind == GRANT).order_by(FrontierPiece.id)).all())


def consume(session: Session, grant_id: int) -> bool:
    return bool(session.execute(delete(FrontierPiece).where(FrontierPiece.id == grant_id,
                                                            FrontierPiece.kind == GRANT)).rowcount)


def new_sub_job(session: Session, parent: Job, kind: str, config: dict, timeout_s: float) -> Job:
    """A queued sub-job of `parent` (its model, property, owner and queue), flushed so that
    it has its id; the caller commits, then sends it."""
    child = Job(owner_id=parent.owner_id, kind=kind, status="queued", model_id=parent.model_id,
                property_id=parent.property_id, timeout_s=max(1.0, timeout_s), config=config, queue=parent.queue,
                created_at=utcnow(), enqueued_at=utcnow(), attempts=0, cancel_requested=False, parent_id=parent.id)
    session.add(child)
    session.flush()
    record_event(session, child.id, "status", {"status": "queued"})
    return child


def children(session: Session, parent_id: str, kind: str | None = None) -> list[Job]:
    """`parent_id`'s sub-jobs, oldest first; of `kind` only where given."""
    query = select(Job).where(Job.parent_id == parent_id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query.order_by(Job.created_at, Job.id)))


def take_over(session: Session, child_id: str, by: str) -> bool:
    """Mark a queued sub-job taken over by holder `by` (it never runs again); False when
    it is not queued any more."""
    error = f"taken over by {by}: another holder searches its frontier"
    done = session.execute(update(Job).where(Job.id == child_id, Job.status == "queued")
                           .values(status="cancelled", error=error, finished_at=utcnow())).rowcount
    if done:
        record_event(session, child_id, "status", {"status": "cancelled", "error": error})
    return bool(done)


def reset(session: Session, parent_id: str) -> None:
    """Start a distributed search over: cancel the sub-jobs of an earlier attempt of
    `parent_id` and forget their snapshots, requests and grants."""
    cancel_children(session, parent_id)
    session.execute(delete(FrontierPiece).where(FrontierPiece.job_id == parent_id))


def may_ask(session: Session, asker: str) -> bool:
    """Whether `asker` may still be given domains: running, not asked to stop (a sub-job of
    an attempt the parent started over is cancelled)."""
    job = session.get(Job, asker)
    return job is not None and job.status == "running" and not job.cancel_requested


def cancel_children(session: Session, parent_id: str) -> int:
    """Ask every unfinished sub-job of `parent_id` to stop (queued ones are cancelled at once)."""
    count = 0
    for job in children(session, parent_id):
        if job.status in TERMINAL:
            continue
        request_cancel(session, job)
        count += 1
    return count
