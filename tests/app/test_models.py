"""POST/GET /models: real ONNX files (the bundled benchmark instances)."""

from __future__ import annotations

import gzip
import hashlib


def test_upload_returns_the_summary(api, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz"
    body = api.upload_ok("models", path)
    raw = gzip.decompress(path.read_bytes())
    assert body["sha256"] == hashlib.sha256(raw).hexdigest()
    assert body["size_bytes"] == len(raw)
    assert body["filename"] == "relu5.onnx.gz"
    assert body["inputs"] == [{"name": "X", "shape": [1, 5]}]
    assert body["operators"] == {"Gemm": 3, "Relu": 2} and body["n_params"] == 5 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5
    assert api.get(f"/models/{body['id']}").json() == body


def test_same_bytes_give_the_same_object_plain_or_gzipped(api, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz"
    first = api.upload_ok("models", path)
    again = api.upload("models", path, unzip=True)
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert [m["id"] for m in api.get("/models").json()["items"]] == [first["id"]]


def test_invalid_onnx_is_422_naming_the_problem(api):
    response = api.post("/models", files={"file": ("broken.onnx", b"\x08\x07garbage that is not protobuf")})
    assert response.status_code == 422
    assert "broken.onnx" in response.json()["detail"]
    assert response.json()["problems"]


def test_truncated_gzip_is_422(api, bundled_benchmarks):
    data = (bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz").read_bytes()[:-20]
    response = api.post("/models", files={"file": ("cut.onnx.gz", data)})
    assert response.status_code == 422
    assert "gzip" in response.json()["detail"]


def test_client_paths_are_stripped_from_filenames(api, bundled_benchmarks):
    data = (bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz").read_bytes()
    response = api.post("/models", files={"file": ("..\\..\\secret/" + "x" * 300 + ".onnx.gz", data)})
    assert response.status_code == 201
    assert response.json()["filename"] == ("x" * 300 + ".onnx.gz")[:200]


def test_upload_without_a_file_is_422(api):
    assert api.post("/models", data={"nothing": "here"}).status_code == 422


def test_unknown_model_is_404(api):
    assert api.get("/models/0123456789abcdef0123456789abcdef").status_code == 404
