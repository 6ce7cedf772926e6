"""DELETE /models, /properties, /jobs: the rows and their stored files go; what jobs still
need, another owner's object, and an unfinished job stay."""

from __future__ import annotations

import gzip
import uuid

import onnx

from app.services.jobs import checkpoint_dir
from app.storage import ArtifactStore
from tests.app.pages import every_id
from tests.service.support import instance
from worker.runner import run_attempt


def delete(api, path: str):
    return api.client.delete(f"/api/v1{path}", headers=api.headers)


def upload_bytes(api, kind: str, name: str, data: bytes) -> dict:
    response = api.post(f"/{kind}", files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


def stored(api_settings, sha256: str) -> bool:
    return ArtifactStore(api_settings.artifacts_dir).path(sha256).exists()


def test_a_model_jobs_use_is_409_naming_them_until_they_are_deleted(api, api_settings, bundled_benchmarks):
    model_path, prop_path = instance(bundled_benchmarks, "mlp", "relu5", "relu5_unsat")
    # bytes of this test alone: other tests' uploads of the same files would keep them stored
    network = onnx.load_from_string(gzip.decompress(model_path.read_bytes()))
    network.doc_string = uuid.uuid4().hex
    model = upload_bytes(api, "models", "mine.onnx", network.SerializeToString())
    prop = upload_bytes(api, "properties", "mine.vnnlib", gzip.decompress(prop_path.read_bytes())
                        + f"; {uuid.uuid4().hex}\n".encode())
    job_id = api.submit(model, prop, timeout_s=60)
    for kind, row in (("models", model), ("properties", prop)):
        refused = delete(api, f"/{kind}/{row['id']}")
        assert refused.status_code == 409 and job_id in refused.json()["detail"]
        assert refused.json()["job_ids"] == [job_id]
    refused = delete(api, f"/jobs/{job_id}")
    assert refused.status_code == 409 and "cancel it first" in refused.json()["detail"]
    assert api.get(f"/jobs/{job_id}").json()["status"] == "queued"

    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    evidence = api.get(f"/jobs/{job_id}").json()["evidence"]
    assert stored(api_settings, evidence["sha256"])
    left = checkpoint_dir(api_settings, job_id)  # as a train job whose re-runs ran out leaves them
    left.mkdir(parents=True)
    (left / "epoch-1.pt").write_bytes(b"state")
    assert delete(api, f"/jobs/{job_id}").status_code == 204
    assert not left.exists()
    assert api.get(f"/jobs/{job_id}").status_code == 404
    assert api.get(f"/jobs/{job_id}/events").status_code == 404
    assert not stored(api_settings, evidence["sha256"])
    for kind, row in (("models", model), ("properties", prop)):
        assert delete(api, f"/{kind}/{row['id']}").status_code == 204
        assert api.get(f"/{kind}/{row['id']}").status_code == 404
        assert not stored(api_settings, row["sha256"])
        assert delete(api, f"/{kind}/{row['id']}").status_code == 404


def test_bytes_another_owner_uploaded_too_stay_stored(api, other_api, api_settings, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz"
    mine, theirs = api.upload_ok("models", path), other_api.upload_ok("models", path)
    assert delete(other_api, f"/models/{mine['id']}").status_code == 404
    assert delete(api, f"/models/{mine['id']}").status_code == 204
    assert stored(api_settings, theirs["sha256"])
    assert other_api.get(f"/models/{theirs['id']}").json() == theirs
    assert gzip.decompress(path.read_bytes()) == ArtifactStore(api_settings.artifacts_dir).read(theirs["sha256"])


def test_models_and_properties_are_listed_in_pages_newest_first(api, bundled_benchmarks):
    folder = bundled_benchmarks / "mlp" / "vnnlib"
    ids = [api.upload_ok("properties", path)["id"] for path in sorted(folder.glob("*.vnnlib.gz"))]
    assert every_id(api, "/properties", 3) == ids[::-1]
    assert api.get("/models", params={"limit": 0}).status_code == 422
    assert api.get("/models", params={"cursor": "bm9wZQ"}).status_code == 422
