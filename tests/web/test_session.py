"""Signing in and out of the dashboard: the token in a Secure HTTP-only cookie, CSRF on forms."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.session import COOKIE, LOGIN_CSRF_COOKIE, safe_next
from tests.service.support import new_token


@pytest.fixture
def browser_like(api_settings) -> TestClient:  # noqa: F811 - fixture from tests.app.conftest
    """A client with its own cookie jar, over https so that it keeps Secure cookies."""
    with TestClient(create_app(api_settings, maintenance=False), base_url="https://testserver") as client:
        yield client


def login_form_token(client: TestClient, next_path: str = "/jobs") -> str:
    """Open the login form as a browser does (which sets its cookie) and read its CSRF field."""
    field = re.search(r'name="csrf" value="([^"]*)"', client.get("/login", params={"next": next_path}).text)
    return field.group(1) if field else ""


def sign_in(client: TestClient, secret: str, next_path: str = "/jobs", **headers: str) -> httpx.Response:
    return client.post("/login", data={"token": secret, "next": next_path, "csrf": login_form_token(client, next_path)},
                       headers=headers, follow_redirects=False)


def test_pages_send_a_stranger_to_the_login_form_and_back(browser_like, api_settings):
    response = browser_like.get("/jobs?status=running", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/jobs%3Fstatus%3Drunning"
    form = browser_like.get(response.headers["location"])
    assert 'name="next" value="/jobs?status=running"' in form.text and 'label for="token"' in form.text

    secret = new_token(api_settings, "carol")
    signed_in = sign_in(browser_like, secret, "/jobs?status=running", Origin="https://testserver")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/jobs?status=running"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={secret};")
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"))
    assert browser_like.get("/jobs").status_code == 200


def test_a_wrong_token_is_refused_with_the_form_again(browser_like):
    response = sign_in(browser_like, "cb_not-a-token")
    assert response.status_code == 401 and "does not know that token" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert sign_in(browser_like, "  ").status_code == 401


def test_sign_out_needs_the_csrf_token_and_forgets_the_cookie(browser_like, alice):
    sign_in(browser_like, alice.secret)
    assert browser_like.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert browser_like.post("/logout", data={"csrf": "forgé"}).status_code == 403  # not a 500
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


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Referer": "https://evil.example/page"},
                                     {"Origin": "https://testserver.evil.example"}, {"Origin": "https://[testserver"}])
def test_another_site_cannot_sign_the_browser_in(browser_like, alice, headers):
    response = sign_in(browser_like, alice.secret, **headers)
    assert response.status_code == 403 and "did not come from this dashboard" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert browser_like.get("/jobs", follow_redirects=False).status_code == 303


def test_a_sign_in_needs_the_login_forms_token(browser_like, alice):
    login_form_token(browser_like)
    for forged in ("", "x" * 43, "é"):
        response = browser_like.post("/login", data={"token": alice.secret, "csrf": forged}, follow_redirects=False)
        assert response.status_code == 403 and COOKIE not in response.headers.get("set-cookie", "")
    token = login_form_token(browser_like)
    browser_like.cookies.clear()  # a form posted without the login form's cookie
    response = browser_like.post("/login", data={"token": alice.secret, "csrf": token}, follow_redirects=False)
    assert response.status_code == 403


def test_the_login_forms_token_is_a_strict_cookie_kept_across_forms(browser_like, alice):
    first = browser_like.get("/login")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_CSRF_COOKIE}=") and all(
        flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/login"))
    assert login_form_token(browser_like) == login_form_token(browser_like)  # two tabs: both forms work
    assert sign_in(browser_like, alice.secret, Referer="https://testserver/login?next=/jobs").status_code == 303
