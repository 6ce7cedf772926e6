"""Hostile uploads are refused at the door (issue 27, items 1, 3, 9 and 10): weights in
external files, NaN/inf weights, nested gzip, oversized properties; and an upload over the
limit is refused while it streams, holding no database connection."""

from __future__ import annotations

import gzip
import math
import re
import socket
import threading
import time

import pytest
import uvicorn

from app.main import create_app
from tests.core.model import hostile
from tests.service.support import Api, client_for, free_port, new_token, sqlite_settings


def _stored_files(settings) -> set[str]:
    return {str(p) for p in settings.artifacts_dir.rglob("*") if p.is_file()}


@pytest.mark.parametrize("place", ["initializer", "Constant node", "If branch"])
def test_a_model_reading_a_file_of_the_server_is_422_naming_the_tensor(api, api_settings, tmp_path, monkeypatch, place):
    (tmp_path / "token").write_bytes(hostile.SECRET.tobytes())  # reachable from the API's directory
    monkeypatch.chdir(tmp_path)
    build = {"initializer": hostile.as_initializer, "Constant node": hostile.as_constant,
             "If branch": hostile.in_if_branch}[place]
    before = _stored_files(api_settings)
    response = api.post("/models", files={"file": ("reader.onnx", build(hostile.external("W", "token")))})
    assert response.status_code == 422, response.text
    body = response.json()
    assert "reader.onnx" in body["detail"]
    assert [p for p in body["problems"] if "tensor 'W'" in p and "external file ('token')" in p]
    assert _stored_files(api_settings) == before


@pytest.mark.parametrize("model", [hostile.as_initializer(hostile.weights([1.0, math.inf, 0.0, 1.0])),
                                   hostile.as_constant(hostile.weights([math.nan, 1.0, 0.0, 1.0])),
                                   hostile.as_constant_float(-math.inf)], ids=["inf", "nan-constant", "value_float"])
def test_non_finite_weights_are_422_naming_the_tensor(api, model):
    response = api.post("/models", files={"file": ("weights.onnx", model)})
    assert response.status_code == 422, response.text
    assert [p for p in response.json()["problems"] if "NaN or infinite" in p and ("'W'" in p or "'scale'" in p)]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


@pytest.mark.parametrize("kind", ["models", "properties"])
def test_nested_gzip_is_422_without_inflating_the_inner_layer(api, api_settings, kind):
    inner = gzip.compress(bytes(50 * 1024 * 1024))  # 50 MB once inflated; about 50 KB stored
    upload = gzip.compress(inner)  # about 1 KB sent
    before = _stored_files(api_settings)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the peak RSS to the current RSS
    rss = _status_kb("VmRSS")
    response = api.post(f"/{kind}", files={"file": ("bomb.gz", upload)})
    growth_mb = (_status_kb("VmHWM") - rss) / 1024
    assert growth_mb < 20, f"peak RSS grew by {growth_mb:.0f} MB"  # the old model reader inflated all 50 MB
    assert response.status_code == 422, response.text
    assert "bomb.gz" in response.json()["detail"] and "nested gzip" in response.json()["detail"]
    assert _stored_files(api_settings) == before


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory):
    settings = sqlite_settings(tmp_path_factory.mktemp("limits"), max_property_asserts=4,
                               max_property_disjuncts=2, max_property_comparisons=10)
    with client_for(settings) as client:
        yield Api(client, new_token(settings))


DECLS = b"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
BOX = b"(assert (>= X_0 0))\n(assert (<= X_0 1))\n"


def test_property_limits_come_from_the_settings(small_limits):
    ok = small_limits.post("/properties", files={"file": ("ok.vnnlib", DECLS + BOX + b"(assert (<= Y_0 0))\n")})
    assert ok.status_code == 201, ok.text
    many = DECLS + BOX + b"(assert (<= Y_0 0))\n(assert (<= Y_1 0))\n(assert (<= Y_1 2))\n"
    response = small_limits.post("/properties", files={"file": ("many.vnnlib", many)})
    assert response.status_code == 422
    assert (response.json()["line"], response.json()["column"]) == (8, 1)
    assert "more than 4 asserts" in response.json()["detail"]
    wide = DECLS + BOX + b"(assert (or (<= Y_0 0) (<= Y_1 0) (<= Y_0 Y_1)))\n"
    response = small_limits.post("/properties", files={"file": ("wide.vnnlib", wide)})
    assert response.status_code == 422 and "'or' has more than 2 operands" in response.json()["detail"]


# A real server (uvicorn on a thread, with the API on the session's backend) and a raw
# socket: only then can a test stop in the middle of a body and see what the API does.

@pytest.fixture(scope="module")
def live(api_settings):
    app = create_app(api_settings, maintenance=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield app, port
    server.should_exit = True
    thread.join(10)


class RawUpload:
    """A multipart upload sent by hand; the answer is read on a thread as soon as it comes."""

    HEAD = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.onnx"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    TAIL = b"\r\n--b--\r\n"

    def __init__(self, port: int, token: str, file_size: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.received = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        length = len(self.HEAD) + file_size + len(self.TAIL)
        self.send(f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n".encode())

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.received += chunk
        except OSError:
            pass

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:  # the server answered and closed
            return False

    def answer(self, timeout: float) -> int | None:
        """The status code once the whole answer (head and Content-Length body) is in, or None
        if it did not all come within `timeout` seconds: the body may follow the head later."""
        deadline = time.monotonic() + timeout
        while not self._complete() and time.monotonic() < deadline:
            time.sleep(0.02)
        return int(self.received.split(b" ", 2)[1]) if self._complete() else None

    def _complete(self) -> bool:
        head, found, body = self.received.partition(b"\r\n\r\n")
        if not found:
            return False
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        return length is None or len(body) >= int(length.group(1))

    def close(self) -> None:
        self.sock.close()


def test_an_upload_over_the_limit_is_refused_while_it_streams(live, api_settings):
    _app, port = live
    limit = api_settings.max_upload_bytes
    before = _stored_files(api_settings)
    # Declared just within limit + envelope, so the Content-Length check lets it in.
    upload = RawUpload(port, new_token(api_settings), file_size=limit + 50_000)
    upload.send(RawUpload.HEAD)
    sent, chunk = 0, b"\x07" * 65536
    while sent <= limit and upload.send(chunk):
        sent += len(chunk)
    # The rest of the declared body is never sent: the answer must come without it.
    try:
        assert upload.answer(timeout=15) == 413, upload.received[:300]
        assert b'"limit_bytes":%d' % limit in upload.received.replace(b" ", b"")
    finally:
        upload.close()
    assert _stored_files(api_settings) == before


def test_the_token_is_checked_before_the_body_is_read(live, api_settings):
    upload = RawUpload(live[1], "not-a-token", file_size=10 ** 6)
    try:
        assert upload.answer(timeout=15) == 401  # no byte of the body was sent
    finally:
        upload.close()


def test_no_database_connection_is_held_while_the_body_streams(live, api_settings):
    app, port = live
    model = hostile.as_initializer(hostile.weights([1.0, -2.0, 0.5, 2.0])) + b""
    upload = RawUpload(port, new_token(api_settings), file_size=len(model))
    try:
        upload.send(RawUpload.HEAD + model[:20])
        time.sleep(0.5)  # the route is now waiting for the rest of the file
        assert app.state.engine.pool.checkedout() == 0
        upload.send(model[20:] + RawUpload.TAIL)
        assert upload.answer(timeout=15) == 201, upload.received[:500]
    finally:
        upload.close()


def test_openapi_still_describes_a_multipart_upload_of_a_binary_file(api):
    spec = api.client.get("/openapi.json").json()
    for path in ("/api/v1/models", "/api/v1/properties"):
        body = spec["paths"][path]["post"]["requestBody"]
        schema = body["content"]["multipart/form-data"]["schema"]
        assert body["required"] and schema["required"] == ["file"]
        assert schema["properties"]["file"]["format"] == "binary"


def test_a_tiny_property_declaring_a_huge_shape_is_422(api):
    text = b"(declare-network n (declare-input X Real [100000,100000]) (declare-output Y Real [1]))(assert (<= Y[0] 0))"
    response = api.post("/properties", files={"file": ("shape.vnnlib", text)})  # the old reader answered 500
    assert response.status_code == 422, response.text
    assert "more than 1000000 inputs and outputs" in response.json()["detail"]


@pytest.mark.parametrize("name", ["..", ".", "a/..", "..\\.."])
def test_dot_names_are_not_stored_as_filenames(api, name):
    model = hostile.as_initializer(hostile.weights([1.0, 2.0, 3.0, 4.0 + len(name)]))
    response = api.post("/models", files={"file": (name, model)})
    assert response.status_code == 201 and response.json()["filename"] == "model.onnx"
