"""/models: upload ONNX networks (plain or gzipped) and read their summaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, UploadFile
from app.db.models import Model
from app.dependencies import OwnerDep, SessionDep, SettingsDep, StoreDep
from app.services.uploads import get_owned, list_owned, model_json, upload_model

router = APIRouter(prefix="/models", tags=["models"])


@router.post("", status_code=201)
def create_model(file: UploadFile, owner: OwnerDep, session: SessionDep, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Upload an ONNX model; the same bytes uploaded again give the same object."""
    model = upload_model(session, store, owner, file.filename or "model.onnx", file.file, settings.max_upload_bytes)
    session.commit()
    return model_json(model)


@router.get("")
def list_models(owner: OwnerDep, session: SessionDep) -> list[dict[str, Any]]:
    return [model_json(row) for row in list_owned(session, Model, owner)]


@router.get("/{model_id}")
def read_model(model_id: str, owner: OwnerDep, session: SessionDep) -> dict[str, Any]:
    return model_json(get_owned(session, Model, owner, model_id))
