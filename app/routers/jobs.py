"""/jobs: queue verification jobs, follow their progress, cancel them, fetch certificates, delete them."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.db.models import Token
from app.dependencies import CeleryDep, OwnerDep, SessionDep, SettingsDep, StoreDep
from app.openapi_errors import errors
from app.schemas import JobEventOut, JobOut, JobPage, JobRequest, JobSubmitted, job_create
from app.services.deletion import delete_job
from app.services.evidence import EvidenceFile, evidence_file, evidence_json, evidence_of
from app.services.idempotency import MAX_KEY_LENGTH, submit
from app.services.job_state import TERMINAL
from app.services.jobs import (EVENT_ID_MAX, JobStatus, ShownJobKind, cancel_job, event_json, get_job, job_events,
                               job_json, list_jobs)
from app.services.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.services.queue import send

router = APIRouter(prefix="/jobs", tags=["jobs"])
SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15.0


@router.post("", status_code=202, response_model=JobSubmitted, responses=errors(404))
def submit_job(body: JobRequest, owner: OwnerDep, session: SessionDep, settings: SettingsDep, celery: CeleryDep,
               response: Response,
               idempotency_key: str | None = Header(None, min_length=1, max_length=MAX_KEY_LENGTH,
                                                    description="a key of the client's choosing: a retry with the "
                                                    "same key and body gets the same job, never a second one")) -> dict[str, Any]:
    """Queue a job; it runs on a worker and is followed with GET /jobs/{id}."""
    job, created = submit(session, settings, owner, job_create(body), idempotency_key)
    if created:
        send(celery, settings, job)
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return {"id": job.id, "status": job.status}


@router.get("", response_model=JobPage)
def read_jobs(owner: OwnerDep, session: SessionDep, status: JobStatus | None = None, kind: ShownJobKind | None = None,
              limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT), cursor: str | None = None) -> dict[str, Any]:
    """The owner's jobs, newest first; pass `next_cursor` back as `cursor` for the next page."""
    jobs, next_cursor = list_jobs(session, owner, status=status, kind=kind, limit=limit, cursor=cursor)
    evidence = evidence_of(session, jobs)
    return {"items": [job_json(job, evidence_json(evidence.get(job.id))) for job in jobs], "next_cursor": next_cursor}


@router.get("/{job_id}", response_model=JobOut, responses=errors(404))
def read_job(job_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
    return _with_evidence(session, get_job(session, owner, job_id))


@router.post("/{job_id}/cancel", status_code=202, response_model=JobOut, responses=errors(404, 409))
def cancel(job_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
    """A queued job is cancelled at once; a running one stops within a few seconds."""
    job = cancel_job(session, owner, job_id)
    session.commit()
    return _with_evidence(session, job)


@router.get("/{job_id}/certificate", response_class=Response, responses={
    200: {"description": "The file: an unsat's certificate zip (check it with `certbound check NET PROP CERT`), "
                         "or a sat's counterexample as a VNN-COMP result file.",
          "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}},
                      "text/plain": {"schema": {"type": "string"}}},
          "headers": {"X-Certbound-SHA256": {"description": "sha256 of the body, as the job's `evidence.sha256`",
                                             "schema": {"type": "string"}},
                      "ETag": {"description": "the same sha256, quoted", "schema": {"type": "string"}},
                      "Content-Disposition": {"description": "`attachment; filename=\"<job id>.certificate.zip\"` "
                                              "or `...counterexample.txt`", "schema": {"type": "string"}}}},
    304: {"description": "`If-None-Match` named this file's ETag."},
    **errors(404, 409)})
def read_certificate(job_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep,
                     if_none_match: str | None = Header(None)) -> Response:
    """What backs the verdict, as a file: the certificate (unsat, or an unknown whose check
    ran out of time) or the counterexample (sat); 409 when the job has neither."""
    return evidence_response(evidence_file(session, store, owner, job_id), if_none_match)


def evidence_response(evidence: EvidenceFile, if_none_match: str | None = None) -> Response:
    """The evidence as a download, named by its job and kind, with its sha256 as ETag."""
    etag = f'"{evidence.sha256}"'
    headers = {"ETag": etag, "X-Certbound-SHA256": evidence.sha256, "X-Certbound-Kind": evidence.kind,
               "Content-Disposition": f'attachment; filename="{evidence.filename}"'}
    if if_none_match is not None and etag in (tag.strip() for tag in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(evidence.data, media_type=evidence.media_type, headers=headers)


@router.delete("/{job_id}", summary="Delete a job", status_code=204, response_class=Response, responses=errors(404, 409))
def remove(job_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep) -> Response:
    """Delete a finished job with its events, certificate or counterexample; 409 while it
    is queued or running (cancel it first). A model a train job made is kept."""
    delete_job(session, store, settings, owner, job_id)
    return Response(status_code=204)


def _with_evidence(session, job) -> dict[str, Any]:
    return job_json(job, evidence_json(evidence_of(session, [job]).get(job.id)))


@router.get("/{job_id}/events", response_model=None,
            responses={200: {"model": list[JobEventOut], "description": "The events as JSON, or as a stream.",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors(404)})
def read_events(request: Request, job_id: str, owner: OwnerDep, session: SessionDep,
                after: int = Query(0, ge=0, le=EVENT_ID_MAX), accept: str = Header(""),
                last_event_id: int | None = Header(None, ge=0, le=EVENT_ID_MAX)) -> JSONResponse | StreamingResponse:
    """Progress and status events in order: a JSON list, or server-sent events that
    follow the job until it finishes when asked with `Accept: text/event-stream`."""
    events = job_events(session, owner, job_id, after)
    if "text/event-stream" not in accept:
        return JSONResponse([event_json(event) for event in events])
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(_stream(request.app.state.sessions, owner.id, job_id, start), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _stream(sessions, owner_id: int, job_id: str, after: int) -> Iterator[str]:
    last_sent = time.monotonic()
    while True:
        with sessions() as session:
            owner = session.get(Token, owner_id)
            events = job_events(session, owner, job_id, after)
            finished = get_job(session, owner, job_id).status in TERMINAL
        for event in events:
            after = event.id
            yield f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(event_json(event))}\n\n"
            last_sent = time.monotonic()
        if finished and not events:
            yield "event: end\ndata: {}\n\n"
            return
        if time.monotonic() - last_sent > SSE_KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        time.sleep(SSE_POLL_S)
