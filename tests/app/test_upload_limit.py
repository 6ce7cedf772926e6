"""Uploads over the limit answer 413 and leave no file behind (limit: 2 MB in these tests)."""

from __future__ import annotations

import gzip
import os


def _stored_files(settings) -> set[str]:
    return {str(p) for p in settings.artifacts_dir.rglob("*") if p.is_file()}


def test_oversized_upload_is_413_and_writes_nothing(api, api_settings):
    before = _stored_files(api_settings)
    response = api.post("/models", files={"file": ("huge.onnx", os.urandom(api_settings.max_upload_bytes + 100_000))})
    assert response.status_code == 413
    assert response.json()["limit_bytes"] == api_settings.max_upload_bytes
    assert _stored_files(api_settings) == before


def test_gzip_bomb_is_413_and_writes_nothing(api, api_settings):
    before = _stored_files(api_settings)
    bomb = gzip.compress(bytes(api_settings.max_upload_bytes * 3))
    response = api.post("/properties", files={"file": ("bomb.vnnlib.gz", bomb)})
    assert response.status_code == 413
    assert _stored_files(api_settings) == before


def test_upload_just_over_the_limit_is_413_while_streaming(api, api_settings):
    before = _stored_files(api_settings)
    response = api.post("/models", files={"file": ("big.onnx", os.urandom(api_settings.max_upload_bytes + 1))})
    assert response.status_code == 413
    assert _stored_files(api_settings) == before


def test_upload_of_unknown_length_is_411(api):
    def body():
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.onnx\"\r\n\r\n"
        yield b"data\r\n--x--\r\n"

    response = api.post("/models", content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert response.status_code == 411
