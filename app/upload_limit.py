"""Refuse oversized request bodies before reading them (uploads are capped, not buffered)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Room for the multipart envelope around a file of exactly the limit.
ENVELOPE_BYTES = 64 * 1024


class UploadLimit:
    """413 when Content-Length exceeds the upload limit; 411 for a body of unknown length
    (chunked), which could not be refused before it is written somewhere."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is None and b"chunked" in headers.get(b"transfer-encoding", b""):
                response = JSONResponse({"detail": "send uploads with a Content-Length header"}, status_code=411)
                return await response(scope, receive, send)
            if length is not None and length.isdigit() and int(length) > self.limit + ENVELOPE_BYTES:
                response = JSONResponse({"detail": f"request body of {int(length)} bytes exceeds the upload limit "
                                                   f"of {self.limit} bytes", "limit_bytes": self.limit}, status_code=413)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)
