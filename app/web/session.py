"""Dashboard sign-in: the API token kept in a Secure, HTTP-only cookie.

The cookie holds the same secret the API takes as a bearer token, so the dashboard and
the API share one notion of owner (app.auth). Forms that change something carry a
CSRF token derived from that secret: a page of another site can make the browser send
the cookie, but cannot read a page to learn the derived token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from app.auth import owner_for_secret
from app.db.models import Token
from app.dependencies import SessionDep

COOKIE = "certbound_token"
COOKIE_MAX_AGE_S = 7 * 24 * 3600


class LoginRequired(Exception):
    """The page needs a signed-in owner; the web routes answer with a redirect to /login."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


class BadCsrf(Exception):
    """A form arrived without the CSRF token of the signed-in owner."""


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"certbound-dashboard-csrf", hashlib.sha256).hexdigest()


def set_login_cookie(response: Response, secret: str) -> None:
    response.set_cookie(COOKIE, secret, max_age=COOKIE_MAX_AGE_S, path="/", secure=True, httponly=True, samesite="lax")


def clear_login_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def safe_next(next_path: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another host."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/jobs"
    return next_path


def page_owner(request: Request, session: SessionDep) -> Token:
    """The owner whose token is in the cookie; LoginRequired otherwise."""
    secret = request.cookies.get(COOKIE)
    owner = owner_for_secret(session, secret) if secret else None
    if owner is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    request.state.csrf = csrf_token(secret)
    return owner


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise BadCsrf unless `submitted` (a form field or the X-CSRF-Token header) matches."""
    expected = getattr(request.state, "csrf", None)
    given = submitted or request.headers.get("x-csrf-token", "")
    if expected is None or not hmac.compare_digest(expected, given):
        raise BadCsrf()


PageOwnerDep = Annotated[Token, Depends(page_owner)]
