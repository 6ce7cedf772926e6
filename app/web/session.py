"""Dashboard sign-in: the API token kept in a Secure, HTTP-only cookie.

The cookie holds the same secret the API takes as a bearer token, so the dashboard and
the API share one notion of owner (app.auth). Forms that change something carry a
CSRF token derived from that secret: a page of another site can make the browser send
the cookie, but cannot read a page to learn the derived token.

Signing in needs the same care before there is a secret: another site could otherwise
sign the browser into the attacker's token, and what the victim then uploads would be
the attacker's to read. So /login takes only a form posted from this site (its Origin,
or its Referer when a browser sends no Origin) carrying the random token that the login
form's cookie holds (a double-submit token, which another site can neither read nor set).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from app.auth import owner_for_secret
from app.db.models import Token
from app.dependencies import SessionDep

COOKIE = "certbound_token"
COOKIE_MAX_AGE_S = 7 * 24 * 3600
LOGIN_CSRF_COOKIE = "certbound_login_csrf"
LOGIN_CSRF_FORM = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) gives


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


def _same_token(expected: str, given: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500, not a 403).
    return hmac.compare_digest(expected.encode(), given.encode())


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise BadCsrf unless `submitted` (a form field or the X-CSRF-Token header) matches."""
    expected = getattr(request.state, "csrf", None)
    given = submitted or request.headers.get("x-csrf-token", "")
    if expected is None or not _same_token(expected, given):
        raise BadCsrf()


def login_csrf(request: Request) -> str:
    """The login form's token: the one the browser's cookie already holds (so two open
    forms both work), else a new one."""
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return held if LOGIN_CSRF_FORM.fullmatch(held) else secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", secure=True, httponly=True, samesite="strict")


def same_origin(request: Request) -> bool:
    """False when the request's Origin (or, without one, its Referer) names another host
    than the one it was sent to; True without either (not a browser's form post)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    try:
        netloc = urlsplit(source).netloc
    except ValueError:  # such as an unclosed IPv6 bracket: no origin at all
        return False
    return netloc.lower() == request.headers.get("host", "").lower()


def check_login_csrf(request: Request, submitted: str) -> None:
    """Raise BadCsrf unless the sign-in comes from this site's own login form."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not expected or not _same_token(expected, submitted):
        raise BadCsrf()


PageOwnerDep = Annotated[Token, Depends(page_owner)]
