"""POST/GET /properties: real VNN-LIB files (VNN-COMP's where present, and the bundled ones)."""

from __future__ import annotations


def test_upload_reports_sizes(api, benchmarks_dir):
    body = api.upload_ok("properties", benchmarks_dir / "acasxu" / "vnnlib" / "prop_7.vnnlib.gz")
    assert (body["n_inputs"], body["n_outputs"]) == (5, 5)
    assert body["n_disjuncts"] >= 2  # property 7 joins output constraints with "or"
    assert api.get(f"/properties/{body['id']}").json() == body


def test_same_bytes_give_the_same_object(api, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "vnnlib" / "relu5_sat.vnnlib.gz"
    first = api.upload_ok("properties", path)
    again = api.upload("properties", path, unzip=True)
    assert again.status_code == 201 and again.json()["id"] == first["id"]


def test_malformed_vnnlib_is_422_with_line_and_column(api):
    text = b"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1.0)\n"
    response = api.post("/properties", files={"file": ("bad.vnnlib", text)})
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["line"], int) and isinstance(body["column"], int)
    assert "bad.vnnlib" in body["detail"]


def test_non_utf8_is_422(api):
    response = api.post("/properties", files={"file": ("latin.vnnlib", b"(declare-const X_0 Real)\n; \xff\xfe\n")})
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"]
