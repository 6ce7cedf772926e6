"""The routes models and properties share: upload, list, read, delete (one resource each)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.dependencies import OwnerDep, SessionDep, SettingsDep, StoreDep
from app.openapi_errors import errors
from app.multipart_stream import receive_file
from app.services.deletion import delete_upload
from app.services.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.services.uploads import UploadSink, accept_upload, fields_for, get_owned, list_owned


def _multipart_body(what: str) -> dict[str, Any]:
    """The request body as OpenAPI shows it: the route reads the stream itself, so FastAPI
    cannot describe it from a parameter."""
    schema = {"type": "object", "required": ["file"],
              "properties": {"file": {"type": "string", "format": "binary",
                                      "contentMediaType": "application/octet-stream",
                                      "description": f"the {what} file, plain or gzipped once"}}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def upload_router(prefix: str, row_type, to_json: Callable[[Any], dict[str, Any]], default_name: str, what: str,
                  plural: str, schema: type[BaseModel], page: type[BaseModel]) -> APIRouter:
    """A router for one kind of upload (`what`, `plural` for people), its rows shown by
    `to_json` in the shape of `schema`, listed in pages of `page`."""
    router = APIRouter(prefix=prefix, tags=[prefix.strip("/")])

    @router.post("", status_code=201, summary=f"Upload a {what}", openapi_extra=_multipart_body(what),
                 response_model=schema, responses=errors(422))
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

    @router.get("", summary=f"List your {plural}", response_model=page)
    def list_all(owner: OwnerDep, session: SessionDep, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                 cursor: str | None = None) -> dict[str, Any]:
        """Newest first; pass `next_cursor` back as `cursor` for the next page."""
        rows, next_cursor = list_owned(session, row_type, owner, limit, cursor)
        return {"items": [to_json(row) for row in rows], "next_cursor": next_cursor}

    @router.get("/{object_id}", summary=f"Read one {what}", response_model=schema, responses=errors(404))
    def read(object_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
        return to_json(get_owned(session, row_type, owner, object_id))

    @router.delete("/{object_id}", summary=f"Delete a {what}", status_code=204, response_class=Response,
                   responses=errors(404, 409))
    def remove(object_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep) -> Response:
        """Delete it and its stored file (unless another upload has the same bytes); 409,
        naming them in `job_ids`, while jobs use it: delete those jobs first."""
        delete_upload(session, store, row_type, owner, object_id)
        return Response(status_code=204)

    return router
