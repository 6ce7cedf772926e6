"""API tokens: random secrets shown once, stored only as their sha256; each may expire
and may be revoked, after which it authenticates nobody (the row stays: it owns things)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Token, isoformat, utcnow

TOKEN_PREFIX = "cb_"


class TokenRejected(Exception):
    """A secret that authenticates nobody; the message says why (unknown, revoked, expired),
    for a 401. `reason` is that word."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, expires_in: timedelta | None = None) -> tuple[Token, str]:
    """A new owner, valid for `expires_in` (for ever when None); returns its row and the
    secret, which is never stored in clear."""
    if not name.strip():
        raise ValueError("a token needs a non-empty name")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = utcnow()
    token = Token(name=name.strip(), token_hash=hash_token(secret), created_at=created,
                  expires_at=None if expires_in is None else created + expires_in)
    session.add(token)
    session.flush()
    return token, secret


def authenticate(session: Session, secret: str, now: datetime | None = None) -> Token:
    """The token a bearer secret belongs to, if it is neither revoked nor expired at `now`
    (naive UTC, default the present); TokenRejected otherwise."""
    token = session.scalars(select(Token).where(Token.token_hash == hash_token(secret))).first()
    if token is None:
        raise TokenRejected("unknown", "unknown token")
    status = token_status(token, now)
    if status == "revoked":
        raise TokenRejected(status, f"token {token.name!r} was revoked at {isoformat(token.revoked_at)}")
    if status == "expired":
        raise TokenRejected(status, f"token {token.name!r} expired at {isoformat(token.expires_at)}")
    return token


def owner_for_secret(session: Session, secret: str) -> Token | None:
    """The usable token a bearer secret belongs to, or None (unknown, revoked or expired)."""
    try:
        return authenticate(session, secret)
    except TokenRejected:
        return None


def has_tokens(session: Session) -> bool:
    return session.scalars(select(Token.id).limit(1)).first() is not None


def find_token(session: Session, ref: str) -> Token:
    """The one token with id `ref` (digits) or else with name `ref`; LookupError saying why
    there is none, or which ids share the name."""
    if ref.isdigit() and (token := session.get(Token, int(ref))) is not None:
        return token
    named = session.scalars(select(Token).where(Token.name == ref.strip()).order_by(Token.id)).all()
    if not named:
        raise LookupError(f"no token has the id or name {ref!r} (see `certbound token list`)")
    if len(named) > 1:
        raise LookupError(f"{len(named)} tokens are named {ref!r} (ids {', '.join(str(t.id) for t in named)}); "
                          "give the id")
    return named[0]


def revoke_token(token: Token) -> bool:
    """Revoke `token` from now on; False when it already was (its first time is kept)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def token_status(token: Token, now: datetime | None = None) -> str:
    """`active`, `expired` or `revoked`, as `authenticate` would decide at `now`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"
