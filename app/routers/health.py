"""/healthz (no auth) and /metrics (Prometheus text, aggregate counts only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from app.dependencies import CeleryDep, SessionDep, SettingsDep
from app.services.health import health, metrics_text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep, celery: CeleryDep, settings: SettingsDep) -> JSONResponse:
    """Database, broker and worker status; 503 when the database or broker is down."""
    report = health(session, celery, settings)
    return JSONResponse(report, status_code=200 if report["ok"] else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, settings: SettingsDep) -> str:
    return metrics_text(session, settings)
