"""The routes models and properties share: upload, list, read (one resource each)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, UploadFile

from app.dependencies import OwnerDep, SessionDep, SettingsDep, StoreDep
from app.services.uploads import get_owned, list_owned


def upload_router(prefix: str, row_type, upload: Callable, to_json: Callable[[Any], dict[str, Any]],
                  default_name: str, what: str) -> APIRouter:
    """A router for one kind of upload, with its service functions plugged in."""
    router = APIRouter(prefix=prefix, tags=[prefix.strip("/")])

    @router.post("", status_code=201, summary=f"Upload a {what}")
    def create(file: UploadFile, owner: OwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
        """Upload the file (plain or gzipped); the same bytes uploaded again give the same object."""
        row = upload(session, store, owner, file.filename or default_name, file.file, settings.max_upload_bytes)
        session.commit()
        return to_json(row)

    @router.get("", summary=f"List your {what}s")
    def list_all(owner: OwnerDep, session: SessionDep) -> list[dict[str, Any]]:
        return [to_json(row) for row in list_owned(session, row_type, owner)]

    @router.get("/{object_id}", summary=f"Read one {what}")
    def read(object_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
        return to_json(get_owned(session, row_type, owner, object_id))

    return router
