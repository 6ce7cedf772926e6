"""How the server's answers become CertboundError, and how long a 503 asks to wait."""

from __future__ import annotations

import httpx
import pytest

from certbound.errors import CertboundError
from certbound.transport import MAX_PAUSE_S, retry_after_s


def answer(status: int, **kwargs) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://server/api/v1/jobs/x"), **kwargs)


def test_the_error_body_detail_is_the_message_and_the_body_is_kept():
    body = {"detail": "invalid request: timeout_s: too small", "problems": ["timeout_s: too small"]}
    error = CertboundError.from_response(answer(422, json=body))
    assert (error.message, error.status, error.body) == (body["detail"], 422, body)
    assert error.is_input_error


def test_an_answer_without_an_error_body_is_named_by_its_status():
    error = CertboundError.from_response(answer(502, text="<html>bad gateway</html>"))
    assert (error.message, error.body, error.is_input_error) == ("HTTP 502 Bad Gateway", {}, False)


@pytest.mark.parametrize("detail, expected", [
    ("net.onnx: not a model certbound can read", "net.onnx: not a model certbound can read"),
    ("file too large", "models/net.onnx: file too large")])
def test_an_upload_refusal_names_the_file_once(detail, expected):
    assert CertboundError.from_response(answer(422, json={"detail": detail}), "models/net.onnx").message == expected


def test_no_answer_at_all_is_not_an_input_error():
    assert not CertboundError("no answer").is_input_error


@pytest.mark.parametrize("headers, body, expected", [
    ({"Retry-After": "3"}, {}, 3.0), ({}, {"retry_after_s": 2}, 2.0), ({"Retry-After": "99999"}, {}, MAX_PAUSE_S),
    ({"Retry-After": "Fri, 04 Dec 2026 10:00:00 GMT"}, {}, 0.5), ({}, {}, 0.5)])
def test_a_503_waits_what_it_asks_within_bounds(headers, body, expected):
    assert retry_after_s(answer(503, headers=headers, json=body), fallback=0.5) == expected
