"""The submit form: its fields as the API's job request, and the choices it offers.

The form takes what POST /jobs takes (kind, model, property, time limit, `config`), with
the training options a train job usually sets as fields of their own; a model and a
property are either uploaded with the form or chosen among the owner's uploads.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from fastapi import UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.db.models import Model, Property, Token
from app.errors import Invalid
from app.services.dashboard import owned_choices
from app.services.jobs import NEEDS_MODEL, NEEDS_PROPERTY, JobCreate
from app.settings import Settings
from core.training.config import ARCHITECTURES, Method, TrainConfig

# Training options with a field of their own, and how each is read from its text.
TRAIN_FIELDS = {"method": str, "arch": str, "eps": float, "epochs": int}
NUMBER_WORDS = {float: "a number", int: "a whole number"}


def needs_model(kind: str) -> bool:
    return NEEDS_MODEL.get(kind, True)


def needs_property(kind: str) -> bool:
    return NEEDS_PROPERTY.get(kind, True)


def options(text: str) -> dict[str, Any]:
    """The engine options textarea: empty, or a JSON object."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"engine options: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise Invalid("engine options: give a JSON object, such as {\"device\": \"cpu\"}")
    return value


def train_fields(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    """The training fields filled in, read as TrainConfig takes them; only a train job takes any."""
    given = {name: text.strip() for name, text in fields.items() if text.strip()}
    if given and kind != "train":
        raise Invalid(f"{', '.join(given)}: training fields are for train jobs; clear them for a {kind} job")
    read = {}
    for name, text in given.items():
        kind_of = TRAIN_FIELDS[name]
        try:
            read[name] = kind_of(text)
        except ValueError:
            raise Invalid(f"{name}: {text!r} is not {NUMBER_WORDS[kind_of]}") from None
    return read


def job_config(kind: str, options_text: str, fields: dict[str, str]) -> dict[str, Any]:
    """The job's `config`: the options JSON and the training fields, which may not both name one option."""
    config, read = options(options_text), train_fields(kind, fields)
    twice = sorted(set(config) & set(read))
    if twice:
        raise Invalid(f"{', '.join(twice)}: given both as a field and in the engine options; keep one")
    return {**config, **read}


def job_request(kind: str, model_id: str | None, property_id: str | None, timeout_s: str,
                config: dict[str, Any]) -> JobCreate:
    """The API's job request, with pydantic's and float()'s complaints as one Invalid."""
    try:
        return JobCreate(kind=kind, model_id=model_id, property_id=property_id,
                         timeout_s=float(timeout_s) if timeout_s.strip() else None, config=config)
    except ValueError as exc:  # pydantic's ValidationError and float() both are ValueErrors
        problems = exc.errors() if isinstance(exc, ValidationError) else [{"loc": ("timeout_s",), "msg": str(exc)}]
        raise Invalid("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)) from exc


def uploaded_file(upload: UploadFile | None) -> UploadFile | None:
    """The file a file input sent, or None for an input left empty (it sends a nameless part)."""
    return upload if upload is not None and upload.filename else None


def chosen(upload: UploadFile | None, chosen_id: str, what: str) -> str | None:
    """Refuse a file and a choice together; the chosen id, or None."""
    if upload is not None and chosen_id:
        raise Invalid(f"{what}: upload a file or choose one of yours, not both")
    return chosen_id or None


def form_context(session: Session, owner: Token, settings: Settings, values: dict[str, str],
                 error: str | None = None) -> dict[str, Any]:
    """What the submit template needs: the settings, what was typed, the owner's uploads."""
    return {"settings": settings, "values": values, "error": error,
            "models": owned_choices(session, Model, owner), "properties": owned_choices(session, Property, owner),
            "methods": get_args(Method), "architectures": ARCHITECTURES,
            "train_defaults": {name: TrainConfig.model_fields[name].default for name in TRAIN_FIELDS}}
