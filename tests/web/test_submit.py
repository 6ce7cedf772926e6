"""The submit page: uploads and options become a queued job, or the form comes back
with one message naming the problem and what was typed."""

from __future__ import annotations

import pytest

from tests.web.support import text_of


@pytest.fixture
def files(bundled_benchmarks):
    folder = bundled_benchmarks / "mlp"

    def upload(name: str, kind: str) -> tuple[str, bytes]:
        path = folder / kind / f"{name}.{kind}.gz"
        return path.name, path.read_bytes()

    return upload


def test_submit_queues_the_job_and_lands_on_its_page(alice, files):
    response = alice.post("/submit", {"kind": "verify", "timeout_s": "45", "options": '{"seed": 7}'},
                          files={"model": files("tiny", "onnx"), "property": files("tiny_unsat", "vnnlib")})
    assert response.status_code == 303 and response.headers["location"].startswith("/jobs/")
    job_id = response.headers["location"].removeprefix("/jobs/")
    job = alice.api.get(f"/jobs/{job_id}").json()
    assert (job["kind"], job["status"], job["timeout_s"], job["config"]) == ("verify", "queued", 45.0, {"seed": 7})
    page = alice.get(response.headers["location"])
    assert "tiny.onnx.gz" in page.text and "tiny_unsat.vnnlib.gz" in page.text


def test_an_inspect_job_needs_no_property(alice, files):
    response = alice.post("/submit", {"kind": "inspect"}, files={"model": files("tiny", "onnx"),
                                                                 "property": ("", b"")})
    assert response.status_code == 303
    job = alice.api.get(response.headers["location"]).json()
    assert job["kind"] == "inspect" and job["property_id"] is None


@pytest.mark.parametrize("form, property_file, message", [
    ({"kind": "verify"}, None, "a verify job needs a VNN-LIB property file"),
    ({"options": "{seed: 1}"}, "tiny_unsat", "engine options: not JSON"),
    ({"options": "[1, 2]"}, "tiny_unsat", "engine options: give a JSON object"),
    ({"options": '{"no_such_option": 1}'}, "tiny_unsat", "config.no_such_option"),
    ({"timeout_s": "0"}, "tiny_unsat", "timeout_s: Input should be greater than or equal to 1"),
    ({"timeout_s": "soon"}, "tiny_unsat", "timeout_s: could not convert string to float"),
    ({"timeout_s": "99999999"}, "tiny_unsat", "exceeds this server's limit"),
    ({}, "relu5_sat", "has 2 inputs and 2 outputs, but property 'relu5_sat.vnnlib.gz' speaks of 5 inputs"),
])
def test_a_bad_submission_returns_the_form_with_the_problem(alice, files, form, property_file, message):
    uploads = {"model": files("tiny", "onnx")}
    if property_file:
        uploads["property"] = files(property_file, "vnnlib")
    before = alice.api.get("/jobs").json()["items"]
    response = alice.post("/submit", {"kind": "verify", **form}, files=uploads)
    assert response.status_code in (413, 422), response.text
    assert message in text_of(response) and 'role="alert"' in response.text
    for value in form.values():
        assert value in text_of(response) or value == "verify"
    assert alice.api.get("/jobs").json()["items"] == before


def test_a_file_that_is_not_onnx_is_named_in_the_message(alice, files):
    name, data = files("tiny_unsat", "vnnlib")
    response = alice.post("/submit", {"kind": "inspect"}, files={"model": ("network.onnx", data)})
    assert response.status_code == 422
    assert "network.onnx: not a model certbound can read" in text_of(response)


def test_submitting_needs_the_csrf_token(alice, files):
    response = alice.post("/submit", {"csrf": "forged"}, files={"model": files("tiny", "onnx")})
    assert response.status_code == 403
