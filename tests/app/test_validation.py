"""Numbers and ids at the API's edge: strict, finite and in range, refused with a 4xx that names
the field (issue 27, items 5 and 9), in the one error shape of every other answer."""

from __future__ import annotations

import base64
import json

import pytest

RAW_JSON = {"Content-Type": "application/json"}


@pytest.fixture
def acas(api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz")
    prop = api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "relu5_unsat.vnnlib.gz")
    return model, prop


def post_raw(api, acas, fields: str):
    """POST /jobs with `fields` spliced into the JSON text (NaN and Infinity are not JSON
    that a client library writes, but Python's parser on the server reads them)."""
    model, prop = acas
    return api.post("/jobs", content=f'{{"model_id": "{model["id"]}", "property_id": "{prop["id"]}", {fields}}}',
                    headers=RAW_JSON)


def assert_422_naming(response, field: str, words: str = "") -> dict:
    assert response.status_code == 422, response.text
    body = json.loads(response.text)  # strict JSON: no NaN or Infinity in it
    assert isinstance(body["detail"], str) and f"{field}: {words}" in body["detail"]
    assert any(problem.startswith(f"{field}: ") for problem in body["problems"])
    return body


@pytest.mark.parametrize("fields, words", [
    ('"timeout_s": NaN', "Input should be a finite number"),
    ('"timeout_s": Infinity', "Input should be a finite number"),
    ('"timeout_s": -Infinity', "Input should be a finite number"),
    ('"timeout_s": 1e999', "Input should be a finite number"),
    ('"timeout_s": true', "Input should be a valid number"),
    ('"timeout_s": "30"', "Input should be a valid number"),
    ('"timeout_s": 1e-300', "Input should be greater than or equal to 1"),
    ('"timeout_s": 0.5', "Input should be greater than or equal to 1"),
])
def test_timeout_s_is_a_finite_number_of_at_least_a_second(api, acas, fields, words):
    assert_422_naming(post_raw(api, acas, fields), "timeout_s", words)


def test_a_nan_anywhere_in_the_body_still_gets_a_renderable_422(api, acas):
    body = assert_422_naming(post_raw(api, acas, '"surprise": NaN, "kind": Infinity'), "surprise")
    assert any(problem.startswith("kind: ") for problem in body["problems"])


@pytest.mark.parametrize("fields, field, words", [
    ('"config": {"proof_margin": Infinity}', "config.proof_margin", "Input should be a finite number"),
    ('"config": {"lemma_seconds": NaN}', "config.lemma_seconds", "Input should be a finite number"),
    ('"config": {"seed": 1000000000000000000000000000000}', "config.seed", "Input should be less than or equal to"),
    ('"config": {"seed": -1}', "config.seed", "Input should be greater than or equal to 0"),
    ('"config": {"attack_steps": true}', "config.attack_steps", "Input should be a valid integer"),
    ('"kind": "train", "model_id": null, "property_id": null, "config": {"lr": NaN}', "config.lr",
     "Input should be a finite number"),
])
def test_engine_options_are_finite_typed_and_in_range(api, acas, fields, field, words):
    before = api.get("/jobs").json()
    assert_422_naming(post_raw(api, acas, fields), field, words)
    assert api.get("/jobs").json() == before


def test_the_limits_themselves_are_accepted(api, acas):
    response = post_raw(api, acas, '"timeout_s": 1, "config": {"seed": 4294967295, "proof_margin": 1e-300}')
    assert response.status_code == 202, response.text
    job = api.get(f"/jobs/{response.json()['id']}").json()
    assert (job["timeout_s"], job["config"]["seed"]) == (1.0, 2**32 - 1)


@pytest.mark.parametrize("query, headers, field", [
    ({"after": 2**31}, {}, "query.after"),
    ({"after": 2**63}, {}, "query.after"),
    ({"after": -1}, {}, "query.after"),
    ({"after": "soon"}, {}, "query.after"),
    ({}, {"Accept": "text/event-stream", "Last-Event-ID": str(2**31)}, "header.last-event-id"),
    ({}, {"Accept": "text/event-stream", "Last-Event-ID": str(2**63)}, "header.last-event-id"),
    ({}, {"Accept": "text/event-stream", "Last-Event-ID": "abc"}, "header.last-event-id"),
])
def test_event_ids_out_of_range_or_not_integers_are_422_not_a_broken_stream(api, acas, query, headers, field):
    job_id = api.submit(*acas)
    api.post(f"/jobs/{job_id}/cancel")  # a finished job: a stream, were one started, would end
    assert_422_naming(api.get(f"/jobs/{job_id}/events", params=query, headers=headers), field)


def test_the_largest_event_id_is_an_ordinary_question(api, acas):
    job_id = api.submit(*acas)
    api.post(f"/jobs/{job_id}/cancel")
    assert api.get(f"/jobs/{job_id}/events", params={"after": 2**31 - 1}).json() == []
    stream = api.get(f"/jobs/{job_id}/events", headers={"Accept": "text/event-stream", "Last-Event-ID": str(2**31 - 1)})
    assert stream.status_code == 200 and stream.text == "event: end\ndata: {}\n\n"


def test_a_body_that_is_not_json_is_422_saying_so(api):
    response = api.post("/jobs", content=b'{"kind": ', headers=RAW_JSON)
    assert_422_naming(response, "body", "not JSON")


def test_ids_with_a_nul_are_absent_not_a_database_error(api):
    """PostgreSQL refuses NUL in a text parameter: such ids never reach the database."""
    cursor = base64.urlsafe_b64encode("2026-01-01T00:00:00|a\x00".encode()).decode()
    answers = [api.get("/jobs/a%00b"), api.get("/models/a%00b"), api.get("/properties/a%00b"),
               api.post("/jobs/a%00b/cancel"), api.post("/jobs", json={"kind": "inspect", "model_id": "a\x00"}),
               api.get("/jobs", params={"cursor": cursor})]
    assert [response.status_code for response in answers] == [404, 404, 404, 404, 404, 422]
    assert "not found" in answers[0].json()["detail"] and "cursor" in answers[-1].json()["detail"]
