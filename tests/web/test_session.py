"""Signing in and out of the dashboard: the token in a Secure HTTP-only cookie, CSRF on forms."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.session import COOKIE, safe_next
from tests.service.support import new_token


@pytest.fixture
def browser_like(api_settings) -> TestClient:  # noqa: F811 - fixture from tests.app.conftest
    """A client with its own cookie jar, over https so that it keeps Secure cookies."""
    with TestClient(create_app(api_settings, maintenance=False), base_url="https://testserver") as client:
        yield client


def test_pages_send_a_stranger_to_the_login_form_and_back(browser_like, api_settings):
    response = browser_like.get("/jobs?status=running", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/jobs%3Fstatus%3Drunning"
    form = browser_like.get(response.headers["location"])
    assert 'name="next" value="/jobs?status=running"' in form.text and 'label for="token"' in form.text

    secret = new_token(api_settings, "carol")
    signed_in = browser_like.post("/login", data={"token": secret, "next": "/jobs?status=running"}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/jobs?status=running"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={secret};")
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"))
    assert browser_like.get("/jobs").status_code == 200


def test_a_wrong_token_is_refused_with_the_form_again(browser_like):
    response = browser_like.post("/login", data={"token": "cb_not-a-token", "next": "/jobs"}, follow_redirects=False)
    assert response.status_code == 401 and "does not know that token" in response.text
    assert "set-cookie" not in response.headers
    assert browser_like.post("/login", data={"token": "  "}).status_code == 401


def test_sign_out_needs_the_csrf_token_and_forgets_the_cookie(browser_like, alice):
    browser_like.post("/login", data={"token": alice.secret})
    assert browser_like.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert browser_like.get("/jobs", follow_redirects=False).status_code == 200
    response = browser_like.post("/logout", data={"csrf": alice.csrf}, follow_redirects=False)
    assert response.status_code == 303 and f'{COOKIE}=""' in response.headers["set-cookie"]
    assert browser_like.get("/jobs", follow_redirects=False).status_code == 303


def test_htmx_requests_without_a_session_are_told_where_to_sign_in(client):  # noqa: F811
    response = client.get("/status", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login?next=/status")


@pytest.mark.parametrize("given, kept", [("/jobs/abc", "/jobs/abc"), ("https://evil.example/", "/jobs"),
                                         ("//evil.example/x", "/jobs"), ("/\\evil.example", "/jobs"), ("", "/jobs")])
def test_login_only_returns_to_pages_of_this_site(given, kept):
    assert safe_next(given) == kept


def test_the_login_form_warns_when_the_cookie_could_not_stick(browser_like, client):  # noqa: F811
    assert 'id="insecure"' in client.get("/login").text  # http://testserver: plain HTTP, not loopback
    assert 'id="insecure"' not in browser_like.get("/login").text
    assert 'id="insecure"' not in client.get("http://127.0.0.1/login").text
