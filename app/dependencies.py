"""Request dependencies: settings, database sessions, the artifact store, the owner."""

from __future__ import annotations

from typing import Annotated, AsyncIterator

from celery import Celery
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import TokenRejected, authenticate
from app.db.models import Token
from app.settings import Settings
from app.storage import ArtifactStore

_bearer = HTTPBearer(auto_error=False, description="a token from `certbound token create` (or printed by `certbound serve`)")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request, taken from the gate (app.capacity) once the body is read and
    closed as soon as the route returns (before the answer is sent); routes commit what
    they mean to keep."""
    async with request.app.state.gate.session() as session:
        yield session


def get_store(request: Request) -> ArtifactStore:
    return request.app.state.store


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


def current_owner(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Token:
    """The token the request's `Authorization: Bearer` header names; 401 otherwise. Looked
    up in a session of its own, closed at once: the owner of an upload holds no connection
    while its body streams."""
    if credentials is None:
        raise HTTPException(401, "missing `Authorization: Bearer <token>` header", headers={"WWW-Authenticate": "Bearer"})
    try:
        with request.app.state.sessions() as session:
            return authenticate(session, credentials.credentials)
    except TokenRejected as exc:  # unknown, revoked or expired: the detail says which
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]
CeleryDep = Annotated[Celery, Depends(get_celery)]
OwnerDep = Annotated[Token, Depends(current_owner)]
