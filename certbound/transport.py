"""One HTTP request to the API, retried where the API says retrying is safe and useful.

A 503 (the server is saturated or its database busy) is retried after its `Retry-After`;
a request that got no answer (refused connection, timeout, dropped connection) after a
growing pause. Every request the client makes may be repeated: GETs read, uploads of the
same bytes give the same object, POST /jobs carries an Idempotency-Key, so a repeat gets
the job the first one made, and a repeated cancel asks for the same thing again (or is
told the job has already ended).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx

from certbound.errors import CertboundError

RETRIES = 4
FIRST_PAUSE_S, MAX_PAUSE_S = 0.5, 30.0


def retry_after_s(response: httpx.Response, fallback: float) -> float:
    """The wait a 503 asks for (header, else the body's `retry_after_s`), within bounds."""
    for value in (response.headers.get("Retry-After"), _body_field(response, "retry_after_s")):
        try:
            return min(max(float(value), 0.0), MAX_PAUSE_S)
        except (TypeError, ValueError):
            continue  # absent, or an HTTP date: fall back on our own pause
    return fallback


def _body_field(response: httpx.Response, name: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def send(http: httpx.Client, method: str, url: str, *, retries: int = RETRIES,
         on_retry: Callable[[str], None] | None = None, rewind: Callable[[], None] | None = None,
         stream: bool = False, **kwargs: Any) -> httpx.Response:
    """The answer to the request, retried up to `retries` times after a 503 or no answer;
    `rewind` is called before each repeat (an upload puts its file back at the start).
    With `stream`, a successful answer's body is left unread (close the response); an
    error answer is always read. Raises CertboundError when the last try got no answer or
    a 503."""
    pause, attempt = FIRST_PAUSE_S, 0
    while True:
        if attempt and rewind is not None:
            rewind()
        try:
            response = http.send(http.build_request(method, url, **kwargs), stream=stream)
            if response.status_code >= 400:
                response.read()
        except httpx.TransportError as exc:
            if attempt == retries:
                raise CertboundError(f"{http.base_url}: no answer ({type(exc).__name__}: {exc})") from exc
            wait, why = pause, f"no answer ({type(exc).__name__})"
        else:
            if response.status_code != 503:
                return response
            if attempt == retries:
                error = CertboundError.from_response(response)
                raise CertboundError(f"{http.base_url}: busy after {retries + 1} tries: {error.message}",
                                     503, error.body)
            wait, why = retry_after_s(response, pause), "503 busy"
        if on_retry is not None:
            on_retry(f"{method} {url}: {why}; retrying in {wait:g} s ({attempt + 1}/{retries})")
        time.sleep(wait)
        pause, attempt = min(pause * 2, MAX_PAUSE_S), attempt + 1
