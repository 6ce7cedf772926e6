"""Dashboard routes that act: sign in and out, submit, cancel, download, follow live.

Each reuses the service layer the API uses (uploads, job creation, cancelling,
certificates, the event stream), so a job made here is the same as one made over HTTP.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from app.auth import TokenRejected, authenticate
from app.dependencies import CeleryDep, SessionDep, SettingsDep, StoreDep
from app.errors import Conflict, Invalid, ServiceError
from app.routers.jobs import _stream as job_event_stream
from app.services.jobs import EVENT_ID_MAX, NEEDS_PROPERTY, JobCreate, cancel_job, create_job, get_job, job_certificate
from app.services.queue import send
from app.services.uploads import property_limits, upload_model, upload_property
from app.web.pages import job_panel
from app.web.rendering import PageRoute, render
from app.web.session import (PageOwnerDep, check_csrf, check_login_csrf, clear_login_cookie, login_csrf, safe_next,
                             set_login_cookie, set_login_csrf_cookie)

router = APIRouter(route_class=PageRoute)
FormText = Annotated[str, Form()]
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def _login_page(request: Request, next_path: str, error: str | None, status_code: int = 200) -> HTMLResponse:
    # Browsers drop Secure cookies over plain HTTP except on loopback: say so before a
    # sign-in that would silently lead back to this form.
    insecure = request.url.scheme != "https" and request.url.hostname not in LOOPBACK
    csrf = login_csrf(request)
    response = render(request, "login.html", status_code=status_code, next=safe_next(next_path), error=error,
                      insecure=insecure, login_csrf=csrf)
    set_login_csrf_cookie(response, csrf)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/jobs") -> HTMLResponse:
    return _login_page(request, next, None)


@router.post("/login", response_model=None)
def login(request: Request, session: SessionDep, token: FormText = "", next: FormText = "/jobs",
          csrf: FormText = "") -> Response:
    """Check the token and keep it in the cookie; a wrong one re-shows the form, and a
    form from another site (or without the login form's token) gets a 403 page."""
    check_login_csrf(request, csrf)
    try:
        authenticate(session, token.strip())
    except TokenRejected as exc:
        error = ("Enter your API token." if not token.strip() else "This server does not know that token."
                 if exc.reason == "unknown" else f"Sign-in refused: {exc}.")
        return _login_page(request, next, error, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_login_cookie(response, token.strip())
    return response


@router.post("/logout")
def logout(request: Request, _owner: PageOwnerDep, csrf: FormText = "") -> RedirectResponse:
    check_csrf(request, csrf)
    response = RedirectResponse("/login", status_code=303)
    clear_login_cookie(response)
    return response


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, _owner: PageOwnerDep, settings: SettingsDep) -> HTMLResponse:
    return render(request, "submit.html", settings=settings, error=None, values={})


def _options(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"engine options: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(options, dict):
        raise Invalid("engine options: give a JSON object, such as {\"device\": \"cpu\"}")
    return options


def _job_request(kind: str, model_id: str, property_id: str | None, timeout_s: str, options: str) -> JobCreate:
    try:
        return JobCreate(kind=kind, model_id=model_id, property_id=property_id,
                         timeout_s=float(timeout_s) if timeout_s.strip() else None, config=_options(options))
    except ValueError as exc:  # pydantic's ValidationError and float() both are ValueErrors
        problems = exc.errors() if isinstance(exc, ValidationError) else [{"loc": ("timeout_s",), "msg": str(exc)}]
        raise Invalid("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)) from exc


@router.post("/submit", response_model=None)
def submit(request: Request, owner: PageOwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep,
           celery: CeleryDep, model: UploadFile, property: UploadFile | None = None, kind: FormText = "verify",
           timeout_s: FormText = "", options: FormText = "", csrf: FormText = "") -> Response:
    """Upload the model (and property), queue the job, and land on its page; any
    problem re-shows the form with the message and what was typed."""
    check_csrf(request, csrf)
    values = {"kind": kind, "timeout_s": timeout_s, "options": options}
    try:
        if not model.filename:
            raise Invalid("choose an ONNX model file")
        needs_property = NEEDS_PROPERTY.get(kind, True)
        if needs_property and (property is None or not property.filename):
            raise Invalid(f"a {kind} job needs a VNN-LIB property file")
        uploaded = upload_model(session, store, owner, model.filename, model.file, settings.max_upload_bytes)
        prop = (upload_property(session, store, owner, property.filename, property.file, settings.max_upload_bytes,
                                property_limits(settings))
                if needs_property else None)
        job = create_job(session, settings, owner,
                         _job_request(kind, uploaded.id, prop.id if prop else None, timeout_s, options))
        session.commit()
    except ServiceError as exc:
        session.rollback()
        return render(request, "submit.html", status_code=exc.status_code, settings=settings, error=exc.message,
                      values=values)
    send(celery, settings, job)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/jobs/{job_id}/cancel", response_model=None)
def cancel(request: Request, job_id: str, owner: PageOwnerDep, session: SessionDep, csrf: FormText = "") -> Response:
    """Ask the job to stop; htmx gets the refreshed panel, a plain form the job page."""
    check_csrf(request, csrf)
    try:
        cancel_job(session, owner, job_id)
        session.commit()
    except Conflict:
        session.rollback()  # it finished meanwhile: the refreshed panel shows how
    if request.headers.get("hx-request"):
        return job_panel(request, job_id, owner, session)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}/certificate")
def download_certificate(job_id: str, owner: PageOwnerDep, session: SessionDep, store: StoreDep) -> Response:
    """The job's certificate (unsat) or counterexample (sat), the same JSON the API returns."""
    body = job_certificate(session, store, owner, job_id)
    filename = f"{body['kind']}-{job_id}.json"
    return Response(json.dumps(body, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/jobs/{job_id}/events")
def follow(request: Request, job_id: str, owner: PageOwnerDep, session: SessionDep,
           after: int = Query(0, ge=0, le=EVENT_ID_MAX),
           last_event_id: int | None = Header(None, ge=0, le=EVENT_ID_MAX)) -> StreamingResponse:
    """The API's server-sent event stream, for the browser's EventSource (which cannot
    send a bearer header, so it signs in with the cookie)."""
    get_job(session, owner, job_id)
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(job_event_stream(request.app.state.sessions, owner.id, job_id, start),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
