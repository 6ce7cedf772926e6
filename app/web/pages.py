"""Pages that show things: the job list, a job, a model, and the status strip."""

from __future__ import annotations

import json
from typing import Literal, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.db.models import Model, Property
from app.dependencies import SessionDep, SettingsDep
from app.services.dashboard import (accuracy_rows, count_jobs, epoch_history, input_names, jobs_of_model,
                                    last_event_id, progress_reports, progress_series, queue_figures,
                                    search_parts, training_series, verify_figures)
from app.services.evidence import evidence_json
from app.services.health import live_workers
from app.services.job_state import TERMINAL
from app.services.jobs import JobKind, JobStatus, evidence_artifact, get_job, list_jobs
from app.services.uploads import get_owned
from app.web.rendering import PageRoute, render
from app.web.session import PageOwnerDep

router = APIRouter(route_class=PageRoute)
PAGE_SIZE = 50


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/jobs", status_code=303)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, owner: PageOwnerDep, session: SessionDep, status: JobStatus | Literal[""] = "",
              kind: JobKind | Literal[""] = "", cursor: str | None = None) -> HTMLResponse:
    """The owner's jobs, newest first, filtered by status and kind (empty: any), a page at a time."""
    jobs, next_cursor = list_jobs(session, owner, status=status, kind=kind, limit=PAGE_SIZE, cursor=cursor)
    model_names, property_names = input_names(session, jobs)
    return render(request, "jobs.html", jobs=jobs, next_cursor=next_cursor, model_names=model_names,
                  property_names=property_names, total=count_jobs(session, owner, status=status, kind=kind),
                  status=status, kind=kind, first_page=cursor is None,
                  statuses=get_args(JobStatus), kinds=get_args(JobKind))


def _job_context(session, owner, job_id: str) -> dict:
    """What the job page and its panel show; `reports` are the job's progress reports."""
    job = get_job(session, owner, job_id)
    reports = progress_reports(session, job.id)
    result = job.result or {}
    trained = (session.get(Model, result["model_id"]) if job.kind in ("train", "multitask-train", "compressed-sensing")
               and result.get("model_id") else None)
    return {"job": job, "reports": reports, "finished": job.status in TERMINAL,
            "evidence": evidence_json(evidence_artifact(session, job)),
            "figures": verify_figures(job, reports), "accuracies": accuracy_rows(result.get("report")),
            "last_epoch": (epoch_history(job, reports) or [{}])[-1] if job.kind == "train" else {},
            "trained": trained if trained is not None and trained.owner_id == owner.id else None,
            "model": session.get(Model, job.model_id) if job.model_id else None,
            "prop": session.get(Property, job.property_id) if job.property_id else None,
            "parts": search_parts(session, job)}


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, owner: PageOwnerDep, session: SessionDep) -> HTMLResponse:
    """One job: live progress, its chart (bound and domains, or a training curve), verdict,
    downloads, error, and Cancel."""
    context = _job_context(session, owner, job_id)
    job, reports = context["job"], context["reports"]
    series = training_series(job, reports) if job.kind == "train" else progress_series(reports)
    series["last_event"] = last_event_id(session, job.id)  # where the live stream resumes
    return render(request, "job.html", series_json=json.dumps(series), **context)


@router.get("/jobs/{job_id}/panel", response_class=HTMLResponse)
def job_panel(request: Request, job_id: str, owner: PageOwnerDep, session: SessionDep) -> HTMLResponse:
    """The live part of the job page, re-fetched by htmx whenever the job reports."""
    return render(request, "_job_panel.html", **_job_context(session, owner, job_id))


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(request: Request, model_id: str, owner: PageOwnerDep, session: SessionDep) -> HTMLResponse:
    """A model's operators, shapes and parameter count, and the owner's jobs on it."""
    model = get_owned(session, Model, owner, model_id)
    jobs = jobs_of_model(session, owner, model.id, limit=PAGE_SIZE)
    _, property_names = input_names(session, jobs)
    return render(request, "model.html", model=model, summary=model.summary, jobs=jobs,
                  model_names={model.id: model.filename}, property_names=property_names)


@router.get("/status", response_class=HTMLResponse)
def status_strip(request: Request, _owner: PageOwnerDep, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Queue depth and live workers, polled by every page's status strip."""
    return render(request, "_status.html", queue=queue_figures(session), workers=live_workers(session, settings))
