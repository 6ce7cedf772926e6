"""The one exception the client raises for anything the server (or the way to it) refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class CertboundError(Exception):
    """A refused or failed request.

    `status` is the HTTP status (None when no answer came: unreachable, timed out), `body`
    the server's ErrorBody (`detail`, and `problems`, `line`, `retry_after_s`, ... where it
    has them), and the message its `detail`, naming what was wrong."""

    def __init__(self, message: str, status: int | None = None, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.message, self.status, self.body = message, status, body or {}

    @property
    def is_input_error(self) -> bool:
        """A 4xx: what was sent (a file, a job id, the token, the job's state) is at fault,
        and sending it again would not help; otherwise the server was busy or unreachable."""
        return self.status is not None and 400 <= self.status < 500

    @classmethod
    def from_response(cls, response: Any, subject: str = "") -> "CertboundError":
        """From an error answer (an `httpx.Response`); `subject` (what the user named: the
        file uploaded, the job id) prefixes the message unless the server's already names it."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("detail") if isinstance(body.get("detail"), str) else None
        message = detail or f"HTTP {response.status_code} {response.reason_phrase}".strip()
        named = not subject or Path(subject).name in message
        return cls(message if named else f"{subject}: {message}", response.status_code, body)
