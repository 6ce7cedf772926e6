"""The OpenAPI schema tells the truth about errors: each error answer the API gives is
documented for its operation, with the one error body (ErrorBody) it really has."""

from __future__ import annotations

import json

import pytest

from app.errors import ErrorBody

REF = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def schema(client):
    return client.get("/openapi.json").json()


def documented(schema, method: str, path: str, status: int) -> dict:
    responses = schema["paths"][f"/api/v1{path}"][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}: {sorted(responses)}"
    return responses[str(status)]


def test_every_api_operation_documents_the_shared_errors_with_one_body(schema):
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 14
    for path, method, operation in operations:
        responses = operation["responses"]
        assert path.endswith("/healthz") or responses["503"]["headers"]["Retry-After"]["required"]
        if "security" in operation:
            assert responses["401"]["content"]["application/json"]["schema"] == REF
        if method == "post":
            assert {"411", "413", "422"} <= set(responses), path
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(schema["components"]["schemas"])
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]


@pytest.fixture
def job_id(api, bundled_benchmarks):
    model = api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    job_id = api.submit(model, kind="inspect")
    api.post(f"/jobs/{job_id}/cancel")
    return job_id


def test_the_errors_the_api_really_gives_are_documented_with_their_body(api, client, schema, job_id):
    answers = [
        ("get", "/jobs", client.get("/api/v1/jobs")),
        ("get", "/models/{object_id}", api.get("/models/nope")),
        ("get", "/jobs/{job_id}/certificate", api.get(f"/jobs/{job_id}/certificate")),
        ("post", "/jobs/{job_id}/cancel", api.post(f"/jobs/{job_id}/cancel")),
        ("post", "/jobs", api.post("/jobs", json={"kind": "inspect", "model_id": "nope"})),
        ("post", "/jobs", api.post("/jobs", json={"timeout_s": "soon"})),
        ("post", "/jobs", api.post("/jobs", content=b'{"kind": "\xff"}', headers={"Content-Type": "application/json"})),
        ("get", "/jobs/{job_id}/events", api.get(f"/jobs/{job_id}/events", params={"after": -1})),
        ("post", "/models", api.post("/models", content=b"x" * 10, headers={"Content-Type": "text/plain"})),
        ("post", "/properties", api.post("/properties", content=b"", headers={"Content-Length": "999999999999"})),
    ]
    statuses = [response.status_code for *_, response in answers]
    assert statuses == [401, 404, 409, 409, 404, 422, 400, 422, 422, 413]
    for method, path, response in answers:
        entry = documented(schema, method, path, response.status_code)
        assert entry["content"]["application/json"]["schema"] == REF
        ErrorBody.model_validate(response.json())


def test_every_answer_has_a_schema_and_job_configs_are_the_engines_own(schema):
    """Typed OpenAPI: each operation's success body is a named model (or a file / stream),
    and a job's `config` is VerifyConfig or TrainConfig, chosen by `kind`."""
    untyped = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            code, answer = next((code, answer) for code, answer in operation["responses"].items() if code < "300")
            content = answer.get("content", {})
            if code == "204" or any(kind != "application/json" for kind in content):
                continue  # no body, a file, text, or events
            if "$ref" not in json.dumps(content["application/json"]["schema"]):
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []
    body = schema["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    variants = [ref["$ref"].rsplit("/", 1)[1] for ref in body["oneOf"]]
    assert variants == ["VerifyJobRequest", "InspectJobRequest", "TrainJobRequest", "PinnJobRequest",
                        "FaithfulnessJobRequest", "MultiTaskJobRequest", "CompressedSensingJobRequest",
                        "BranchingDataJobRequest", "TrainBrancherJobRequest"]
    components = schema["components"]["schemas"]
    assert components["VerifyJobRequest"]["properties"]["config"]["$ref"].endswith("/VerifyConfig")
    assert components["TrainJobRequest"]["properties"]["config"]["$ref"].endswith("/TrainJobConfig")
    assert components["PinnJobRequest"]["properties"]["config"]["$ref"].endswith("/PinnOptions")
    assert components["FaithfulnessJobRequest"]["properties"]["config"]["$ref"].endswith("/FaithfulnessJobConfig")
    assert components["MultiTaskJobRequest"]["properties"]["config"]["$ref"].endswith("/MultiTaskConfig")
    assert components["CompressedSensingJobRequest"]["properties"]["config"]["$ref"].endswith("/CSConfig")
    assert components["BranchingDataJobRequest"]["properties"]["config"]["$ref"].endswith("/BranchingDataConfig")
    assert components["TrainBrancherJobRequest"]["properties"]["config"]["$ref"].endswith("/TrainBrancherJobConfig")
    assert {"seed", "branching", "proof_margin"} <= set(components["VerifyConfig"]["properties"])
    assert components["VerifyConfig"]["additionalProperties"] is False
    assert "propertys" not in json.dumps(schema)


def test_deletes_and_lists_are_documented(schema):
    for path in ("/models/{object_id}", "/properties/{object_id}", "/jobs/{job_id}"):
        assert {"204", "404", "409"} <= set(schema["paths"][f"/api/v1{path}"]["delete"]["responses"]), path
    for path, page in (("/models", "ModelPage"), ("/properties", "PropertyPage"), ("/jobs", "JobPage")):
        operation = schema["paths"][f"/api/v1{path}"]["get"]
        assert {"limit", "cursor"} <= {parameter["name"] for parameter in operation["parameters"]}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(page)
