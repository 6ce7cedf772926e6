"""The routes models and properties share: upload, list, read (one resource each)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.dependencies import OwnerDep, SessionDep, SettingsDep, StoreDep
from app.openapi_errors import errors
from app.multipart_stream import receive_file
from app.services.uploads import UploadSink, accept_upload, fields_for, get_owned, list_owned


def _multipart_body(what: str) -> dict[str, Any]:
    """The request body as OpenAPI shows it: the route reads the stream itself, so FastAPI
    cannot describe it from a parameter."""
    schema = {"type": "object", "required": ["file"],
              "properties": {"file": {"type": "string", "format": "binary",
                                      "contentMediaType": "application/octet-stream",
                                      "description": f"the {what} file, plain or gzipped once"}}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def upload_router(prefix: str, row_type, upload: Callable, to_json: Callable[[Any], dict[str, Any]],
                  default_name: str, what: str) -> APIRouter:
    """A router for one kind of upload, with its service functions plugged in (`upload`,
    the service call on a file object, is what the web pages use; the API streams)."""
    router = APIRouter(prefix=prefix, tags=[prefix.strip("/")])

    @router.post("", status_code=201, summary=f"Upload a {what}", openapi_extra=_multipart_body(what),
                 responses=errors(422))
    async def create(request: Request, owner: OwnerDep, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
        """Upload the file (multipart field `file`, plain or gzipped); the same bytes uploaded
        again give the same object. The body is streamed into the store and refused (413) as
        soon as it passes the upload limit; no database connection is held meanwhile."""
        with store.ingest(settings.max_upload_bytes) as ingest:
            sink = UploadSink(ingest, default_name)
            await receive_file(request, "file", sink)
            sha, size = await run_in_threadpool(sink.finish)
        row = await run_in_threadpool(accept_upload, request.app.state.sessions, store, owner.id, sink.filename,
                                      sha, size, row_type, fields_for(row_type, settings))
        return to_json(row)

    @router.get("", summary=f"List your {what}s")
    def list_all(owner: OwnerDep, session: SessionDep) -> list[dict[str, Any]]:
        return [to_json(row) for row in list_owned(session, row_type, owner)]

    @router.get("/{object_id}", summary=f"Read one {what}", responses=errors(404))
    def read(object_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
        return to_json(get_owned(session, row_type, owner, object_id))

    return router
