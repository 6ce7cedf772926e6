"""Request dependencies: settings, database sessions, the artifact store, the owner."""

from __future__ import annotations

from typing import Annotated, Iterator

from celery import Celery
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import owner_for_secret
from app.db.models import Token
from app.settings import Settings
from app.storage import ArtifactStore

_bearer = HTTPBearer(auto_error=False, description="a token from `certbound token create` (or printed by `certbound serve`)")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they mean to keep."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


def get_store(request: Request) -> ArtifactStore:
    return request.app.state.store


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


def current_owner(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                  session: Annotated[Session, Depends(get_session)]) -> Token:
    """The token the request's `Authorization: Bearer` header names; 401 otherwise."""
    if credentials is None:
        raise HTTPException(401, "missing `Authorization: Bearer <token>` header", headers={"WWW-Authenticate": "Bearer"})
    owner = owner_for_secret(session, credentials.credentials)
    if owner is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    return owner


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]
CeleryDep = Annotated[Celery, Depends(get_celery)]
OwnerDep = Annotated[Token, Depends(current_owner)]
