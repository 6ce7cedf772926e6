"""/properties: upload VNN-LIB properties (plain or gzipped) and read their sizes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, UploadFile
from app.db.models import Property
from app.dependencies import OwnerDep, SessionDep, SettingsDep, StoreDep
from app.services.uploads import get_owned, list_owned, property_json, upload_property

router = APIRouter(prefix="/properties", tags=["properties"])


@router.post("", status_code=201)
def create_property(file: UploadFile, owner: OwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Upload a VNN-LIB property; the same bytes uploaded again give the same object."""
    prop = upload_property(session, store, owner, file.filename or "property.vnnlib", file.file, settings.max_upload_bytes)
    session.commit()
    return property_json(prop)


@router.get("")
def list_properties(owner: OwnerDep, session: SessionDep) -> list[dict[str, Any]]:
    return [property_json(row) for row in list_owned(session, Property, owner)]


@router.get("/{property_id}")
def read_property(property_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
    return property_json(get_owned(session, Property, owner, property_id))
