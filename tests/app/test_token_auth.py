"""Expired and revoked tokens authenticate nobody: the API answers 401 saying which, the
dashboard's sign-in refuses them saying which, and a signed-in cookie stops working at
once. On both back ends (SQLite; PostgreSQL), with real rows, no mocks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.auth import TokenRejected, authenticate, create_token, owner_for_secret, revoke_token
from app.db.models import Token, utcnow
from app.db.session import session_scope
from app.main import create_app
from app.web.session import COOKIE


def token(settings, name: str, expires_in: timedelta | None = None) -> tuple[int, str]:
    with session_scope(settings.database_url) as session:
        row, secret = create_token(session, name, expires_in)
        return row.id, secret


def age(settings, token_id: int, by: timedelta) -> None:
    """Move a token's times back, as if `by` had passed since it was made."""
    with session_scope(settings.database_url) as session:
        row = session.get(Token, token_id)
        row.created_at, row.expires_at = row.created_at - by, row.expires_at - by


def revoke(settings, token_id: int) -> None:
    with session_scope(settings.database_url) as session:
        assert revoke_token(session.get(Token, token_id))


def me(client: TestClient, secret: str):
    return client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"})


def test_an_expiring_token_works_until_it_expires_then_gets_401_saying_so(client, api_settings):
    token_id, secret = token(api_settings, "ci", timedelta(hours=1))
    assert me(client, secret).status_code == 200
    age(api_settings, token_id, timedelta(hours=1, seconds=1))
    response = me(client, secret)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert re.fullmatch(r"token 'ci' expired at \d{4}-\d\d-\d\dT[\d:.]+Z", response.json()["detail"]), response.json()


def test_a_revoked_token_gets_401_saying_so_and_others_keep_working(client, api_settings):
    revoked_id, revoked = token(api_settings, "laptop")
    _, kept = token(api_settings, "desktop")
    revoke(api_settings, revoked_id)
    response = me(client, revoked)
    assert response.status_code == 401 and response.json()["detail"].startswith("token 'laptop' was revoked at ")
    assert me(client, kept).status_code == 200
    assert me(client, "cb_never-issued").json()["detail"] == "unknown token"


def test_revoking_twice_keeps_the_first_time(api_settings):
    token_id, _ = token(api_settings, "twice")
    revoke(api_settings, token_id)
    with session_scope(api_settings.database_url) as session:
        row = session.get(Token, token_id)
        first = row.revoked_at
        assert not revoke_token(row) and row.revoked_at == first


def test_authenticate_decides_at_the_given_moment(api_settings):
    _, secret = token(api_settings, "clock", timedelta(days=30))
    with session_scope(api_settings.database_url) as session:
        assert authenticate(session, secret, now=utcnow() + timedelta(days=29)).name == "clock"
        with pytest.raises(TokenRejected, match="expired at") as rejected:
            authenticate(session, secret, now=utcnow() + timedelta(days=30, seconds=1))
        assert rejected.value.reason == "expired"
        assert owner_for_secret(session, secret) is not None


def test_a_lifetime_must_be_positive(api_settings):
    with session_scope(api_settings.database_url) as session, pytest.raises(ValueError, match="positive"):
        create_token(session, "never", timedelta(0))


@pytest.fixture
def browser(api_settings):
    """A client with a cookie jar, over https so that it keeps the Secure login cookie."""
    with TestClient(create_app(api_settings, maintenance=False), base_url="https://testserver") as client:
        yield client


def sign_in(client: TestClient, secret: str):
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]*)"', form).group(1)
    return client.post("/login", data={"token": secret, "next": "/jobs", "csrf": csrf}, follow_redirects=False)


def test_the_dashboard_refuses_to_sign_in_a_revoked_or_expired_token_saying_why(browser, api_settings):
    revoked_id, revoked = token(api_settings, "old-laptop")
    revoke(api_settings, revoked_id)
    response = sign_in(browser, revoked)
    assert response.status_code == 401 and "Sign-in refused: token &#39;old-laptop&#39; was revoked at" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    expired_id, expired = token(api_settings, "trial", timedelta(minutes=5))
    age(api_settings, expired_id, timedelta(minutes=6))
    response = sign_in(browser, expired)
    assert response.status_code == 401 and "Sign-in refused: token &#39;trial&#39; expired at" in response.text


def test_a_signed_in_dashboard_session_ends_when_its_token_is_revoked(browser, api_settings):
    token_id, secret = token(api_settings, "kiosk")
    assert sign_in(browser, secret).status_code == 303
    assert browser.get("/jobs", follow_redirects=False).status_code == 200
    revoke(api_settings, token_id)
    page = browser.get("/jobs", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
