"""/healthz (no auth) and /metrics (Prometheus text, aggregate counts only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from app.dependencies import CeleryDep, SessionDep, SettingsDep
from app.errors import ErrorBody
from app.services.health import health, metrics_text

router = APIRouter(tags=["health"])


class WorkerSeen(BaseModel):
    name: str
    queues: list[str]


class HealthReport(BaseModel):
    """What /healthz answers, so the schema can say it (the route builds a plain dict)."""

    status: Literal["ok", "degraded", "down"]
    ok: bool
    database: str
    broker: str
    workers: list[WorkerSeen]


@router.get("/healthz", responses={
    200: {"model": HealthReport},
    503: {"model": HealthReport | ErrorBody,
          "description": "The database or the broker is down (the report), or the server is too busy to "
                         "look (an error with `Retry-After`)."}})
def healthz(session: SessionDep, celery: CeleryDep, settings: SettingsDep) -> JSONResponse:
    """Database, broker and worker status; 503 when the database or broker is down."""
    report = health(session, celery, settings)
    return JSONResponse(report, status_code=200 if report["ok"] else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, settings: SettingsDep) -> str:
    return metrics_text(session, settings)
