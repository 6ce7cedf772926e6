"""The submit page: uploads and options become a queued job, or the form comes back
with one message naming the problem and what was typed."""

from __future__ import annotations

import pytest

from tests.web.support import text_of


@pytest.fixture
def files(benchmarks_dir):
    folder = benchmarks_dir / "test"

    def upload(name: str, kind: str) -> tuple[str, bytes]:
        path = folder / kind / f"{name}.{kind}.gz"
        return path.name, path.read_bytes()

    return upload


def test_submit_queues_the_job_and_lands_on_its_page(alice, files):
    response = alice.post("/submit", {"kind": "verify", "timeout_s": "45", "options": '{"seed": 7}'},
                          files={"model": files("test_nano", "onnx"), "property": files("test_nano", "vnnlib")})
    assert response.status_code == 303 and response.headers["location"].startswith("/jobs/")
    job_id = response.headers["location"].removeprefix("/jobs/")
    job = alice.api.get(f"/jobs/{job_id}").json()
    assert (job["kind"], job["status"], job["timeout_s"], job["config"]) == ("verify", "queued", 45.0, {"seed": 7})
    page = alice.get(response.headers["location"])
    assert "test_nano.onnx.gz" in page.text and "test_nano.vnnlib.gz" in page.text


def test_an_inspect_job_needs_no_property(alice, files):
    response = alice.post("/submit", {"kind": "inspect"}, files={"model": files("test_nano", "onnx"),
                                                                 "property": ("", b"")})
    assert response.status_code == 303
    job = alice.api.get(response.headers["location"]).json()
    assert job["kind"] == "inspect" and job["property_id"] is None


@pytest.mark.parametrize("form, property_file, message", [
    ({"kind": "verify"}, None, "a verify job needs a VNN-LIB property file"),
    ({"options": "{seed: 1}"}, "test_nano", "engine options: not JSON"),
    ({"options": "[1, 2]"}, "test_nano", "engine options: give a JSON object"),
    ({"options": '{"no_such_option": 1}'}, "test_nano", "config.no_such_option"),
    ({"timeout_s": "0"}, "test_nano", "timeout_s: Input should be greater than or equal to 1"),
    ({"timeout_s": "soon"}, "test_nano", "timeout_s: could not convert string to float"),
    ({"timeout_s": "99999999"}, "test_nano", "exceeds this server's limit"),
    ({}, "test_prop", "has 1 inputs and 1 outputs, but property 'test_prop.vnnlib.gz' speaks of 5 inputs"),
])
def test_a_bad_submission_returns_the_form_with_the_problem(alice, files, form, property_file, message):
    uploads = {"model": files("test_nano", "onnx")}
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
    name, data = files("test_nano", "vnnlib")
    response = alice.post("/submit", {"kind": "inspect"}, files={"model": ("network.onnx", data)})
    assert response.status_code == 422
    assert "network.onnx: not a model certbound can read" in text_of(response)


def test_submitting_needs_the_csrf_token(alice, files):
    response = alice.post("/submit", {"csrf": "forged"}, files={"model": files("test_nano", "onnx")})
    assert response.status_code == 403
