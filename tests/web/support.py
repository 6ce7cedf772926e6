"""Test support for the dashboard: a signed-in web user over a TestClient, and what the
browser tests drive (Debian's chromium, a running `certbound serve`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.session import COOKIE, csrf_token
from tests.service.support import Api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class WebUser:
    """One owner's browser session over a TestClient: the login cookie on every request
    and the CSRF token on every form (set explicitly, as a shared client keeps no jar)."""

    def __init__(self, client: TestClient, secret: str):
        self.client, self.secret, self.csrf = client, secret, csrf_token(secret)
        self.api = Api(client, secret)
        self.headers = {"Cookie": f"{COOKIE}={secret}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        data = {"csrf": self.csrf, **(data or {})}
        return self.client.post(path, data=data, headers={**self.headers, **kwargs.pop("headers", {})},
                                follow_redirects=False, **kwargs)


def text_of(response: httpx.Response) -> str:
    """The page's text with tags dropped and blanks squeezed, for asserting on what a reader sees."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).strip())


@dataclass(frozen=True)
class Dashboard:
    """A running `certbound serve` with a worker: its root URL, an owner's token, its settings."""

    url: str
    token: str
    settings: Settings
