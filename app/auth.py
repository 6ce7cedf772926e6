"""API tokens: random secrets shown once, stored only as their sha256."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Token

TOKEN_PREFIX = "cb_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str) -> tuple[Token, str]:
    """A new owner; returns its row and the secret, which is never stored in clear."""
    if not name.strip():
        raise ValueError("a token needs a non-empty name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = Token(name=name.strip(), token_hash=hash_token(secret))
    session.add(token)
    session.flush()
    return token, secret


def owner_for_secret(session: Session, secret: str) -> Token | None:
    """The token row a bearer secret belongs to, or None."""
    return session.scalars(select(Token).where(Token.token_hash == hash_token(secret))).first()


def has_tokens(session: Session) -> bool:
    return session.scalars(select(Token.id).limit(1)).first() is not None
