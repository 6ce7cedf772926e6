"""Test support for the dashboard: a signed-in web user over a TestClient, and the
running `certbound serve` plus Debian's chromium that the browser tests drive."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.session import COOKIE, csrf_token
from tests.service.support import Api, environment

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


class DashboardServer:
    """`certbound serve` (API, dashboard and its embedded worker) on a free local port."""

    def __init__(self, settings: Settings, log: Path):
        self.settings, self.log = settings, log
        with socket.create_server(("127.0.0.1", 0)) as probe:
            self.port = probe.getsockname()[1]
        # Chromium keeps Secure cookies for http://localhost, which it treats as a secure origin.
        self.url = f"http://localhost:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> "DashboardServer":
        command = [sys.executable, "-c", "from app.cli import main; main()", "serve",
                   "--data-dir", str(self.settings.data_dir), "--port", str(self.port)]
        with open(self.log, "wb") as handle:
            self.process = subprocess.Popen(command, env=environment(self.settings), stdout=handle,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._has_a_worker():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"certbound serve did not come up:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)
        return self

    def _has_a_worker(self) -> bool:
        try:
            return bool(httpx.get(f"{self.url}/api/v1/healthz", timeout=2).json()["workers"])
        except (httpx.TransportError, ValueError, KeyError):
            return False

    @property
    def owner_token(self) -> str:
        """The token serve made for the first owner and wrote to the data directory."""
        return self.settings.token_file.read_text().strip()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
