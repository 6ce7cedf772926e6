"""The FastAPI application: assembles settings, database, store, broker and routers.

`create_app(settings)` builds one; `uvicorn --factory app.main:create_app` serves one
from the environment. Never imports torch.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app import capacity
from app.errors import ServiceError
from app.openapi_errors import document_errors
from app.routers import health, jobs, models, properties
from app.services.maintenance import maintenance_loop
from app.settings import Settings, get_settings
from app.storage import ArtifactStore
from app.upload_limit import UploadLimit
from app.validation import request_validation_error
from app.web import router as web_router
from worker.celery_app import make_celery

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, maintenance: bool = True) -> FastAPI:
    """The API for `settings` (the environment's when None). With `maintenance`, the
    reaper runs at start and every `reaper_interval_s` while the app is up."""
    settings = settings or get_settings()
    celery = make_celery(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        capacity.use_request_threads(settings)
        loop = maintenance_loop(settings, celery) if maintenance else None
        if loop is not None:
            loop.start()
        yield
        if loop is not None:
            loop.stop()
        _app.state.engine.dispose()

    app = FastAPI(title="certbound", version="1", lifespan=lifespan,
                  description="Neural-network verification as a service: upload an ONNX model and a "
                              "VNN-LIB property, queue a job, get a proof or a counterexample.")
    app.state.settings = settings
    capacity.install(app, settings)  # engine, sessions, the session gate and 503 answers
    app.state.store = ArtifactStore(settings.artifacts_dir)
    app.state.celery = celery

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    app.add_exception_handler(RequestValidationError, request_validation_error)

    for module in (models, properties, jobs, health):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web_router)
    document_errors(app, API_PREFIX)
    app.add_middleware(UploadLimit, limit=settings.max_upload_bytes)
    return app
