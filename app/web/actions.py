"""Dashboard routes that act: sign in and out, submit, cancel, download, follow live.

Each reuses the service layer the API uses (uploads, job creation, cancelling,
certificates, the event stream), so a job made here is the same as one made over HTTP;
app.web.job_form reads the submit form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from app.auth import TokenRejected, authenticate
from app.dependencies import CeleryDep, SessionDep, SettingsDep, StoreDep
from app.errors import Conflict, Invalid, ServiceError
from app.routers.jobs import _stream as job_event_stream, evidence_response
from app.services.evidence import evidence_file
from app.services.jobs import EVENT_ID_MAX, cancel_job, create_job, get_job
from app.services.queue import send
from app.services.uploads import property_limits, upload_model, upload_property
from app.web.job_form import (chosen, form_context, job_config, job_request, needs_model, needs_property,
                               uploaded_file)
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
def submit_form(request: Request, owner: PageOwnerDep, session: SessionDep, settings: SettingsDep,
                kind: str = "verify", model_id: str = "", property_id: str = "") -> HTMLResponse:
    """The form; `kind`, `model_id` and `property_id` preselect (a trained model's "verify it" link)."""
    values = {"kind": kind, "model_id": model_id, "property_id": property_id}
    return render(request, "submit.html", **form_context(session, owner, settings, values))


@router.post("/submit", response_model=None)
def submit(request: Request, owner: PageOwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep,
           celery: CeleryDep, model: UploadFile | None = None, property: UploadFile | None = None,
           kind: FormText = "verify", model_id: FormText = "", property_id: FormText = "", timeout_s: FormText = "",
           options: FormText = "", method: FormText = "", arch: FormText = "", eps: FormText = "",
           epochs: FormText = "", csrf: FormText = "") -> Response:
    """Upload the model and property (or take the owner's chosen ones), queue the job, and
    land on its page; any problem re-shows the form with the message and what was typed."""
    check_csrf(request, csrf)
    fields = {"method": method, "arch": arch, "eps": eps, "epochs": epochs}
    values = {"kind": kind, "model_id": model_id, "property_id": property_id, "timeout_s": timeout_s,
              "options": options, **fields}
    model_file, property_file = uploaded_file(model), uploaded_file(property)
    try:
        config = job_config(kind, options, fields)
        model_id, property_id = chosen(model_file, model_id, "model"), chosen(property_file, property_id, "property")
        if needs_model(kind) and model_file is None and model_id is None:
            raise Invalid("choose an ONNX model file, or one of your models")
        if needs_property(kind) and property_file is None and property_id is None:
            raise Invalid(f"a {kind} job needs a VNN-LIB property file, or one of your properties")
        if model_file is not None:
            model_id = upload_model(session, store, owner, model_file.filename, model_file.file,
                                    settings.max_upload_bytes).id
        if property_file is not None and needs_property(kind):
            property_id = upload_property(session, store, owner, property_file.filename, property_file.file,
                                          settings.max_upload_bytes, property_limits(settings)).id
        job = create_job(session, settings, owner, job_request(kind, model_id, property_id, timeout_s, config))
        session.commit()
    except ServiceError as exc:
        session.rollback()
        return render(request, "submit.html", status_code=exc.status_code,
                      **form_context(session, owner, settings, values, exc.message))
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
    """The file the API's GET /jobs/{id}/certificate serves (the certificate zip or the
    counterexample file), for a browser signed in by the cookie (the API takes a bearer)."""
    return evidence_response(evidence_file(session, store, owner, job_id))


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
