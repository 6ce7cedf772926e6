"""GET /jobs/{id}/certificate: the file that backs a verdict, checked by the tools that read it.

Jobs are run by the worker's runner in this process (no broker) on the API's own database
and store, so the served bytes are exactly what a worker stored.
"""

from __future__ import annotations

import base64
import hashlib
import json

from app.db.models import Artifact
from app.db.session import session_scope
from app.storage import ArtifactStore
from core.certificate import check
from core.counterexample import confirm, read_result
from core.model import load_network
from core.spec import load_property
from tests.service.support import instance
from worker.runner import run_attempt


def finished(api, api_settings, bundled_benchmarks, verdict: str) -> tuple[str, dict, tuple]:
    paths = instance(bundled_benchmarks, "mlp", "relu5", f"relu5_{verdict}")
    job_id = api.submit(api.upload_ok("models", paths[0]), api.upload_ok("properties", paths[1]), timeout_s=60)
    assert run_attempt(api_settings, job_id, "w@test") == "succeeded"
    return job_id, api.get(f"/jobs/{job_id}").json(), paths


def test_an_unsat_job_serves_its_certificate_zip_with_the_sha256_the_job_shows(api, api_settings, bundled_benchmarks,
                                                                                tmp_path):
    job_id, job, (model, prop) = finished(api, api_settings, bundled_benchmarks, "unsat")
    assert job["verdict"] == "unsat"
    response = api.get(f"/jobs/{job_id}/certificate")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="{job_id}.certificate.zip"'
    sha = hashlib.sha256(response.content).hexdigest()
    assert response.headers["x-certbound-sha256"] == sha and response.headers["etag"] == f'"{sha}"'
    assert job["evidence"] == {"kind": "certificate", "sha256": sha, "size_bytes": len(response.content),
                               "media_type": "application/zip", "filename": f"{job_id}.certificate.zip",
                               "url": f"/api/v1/jobs/{job_id}/certificate"}
    listed = {item["id"]: item for item in api.get("/jobs").json()["items"]}
    assert listed[job_id]["evidence"]["sha256"] == sha
    cert = tmp_path / "job.cert"
    cert.write_bytes(response.content)
    assert check(model, prop, cert).valid
    again = api.get(f"/jobs/{job_id}/certificate", headers={"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304 and again.content == b""


def test_a_sat_job_serves_its_counterexample_as_a_vnncomp_result_file(api, api_settings, bundled_benchmarks, tmp_path):
    job_id, job, (model, prop) = finished(api, api_settings, bundled_benchmarks, "sat")
    assert job["verdict"] == "sat"
    response = api.get(f"/jobs/{job_id}/certificate")
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{job_id}.counterexample.txt"'
    assert job["evidence"]["sha256"] == response.headers["x-certbound-sha256"] == \
        hashlib.sha256(response.content).hexdigest()
    result = tmp_path / "result.txt"
    result.write_bytes(response.content)
    verdict, x, y = read_result(result)
    assert verdict.value == "sat" and len(x) == len(y) == 5
    assert confirm(load_network(model).onnx_bytes, load_property(prop), x).ok


def test_no_file_is_409_naming_why_and_another_owners_job_is_404(api, other_api, bundled_benchmarks):
    paths = instance(bundled_benchmarks, "mlp", "relu5", "relu5_sat")
    job_id = api.submit(api.upload_ok("models", paths[0]), api.upload_ok("properties", paths[1]))
    response = api.get(f"/jobs/{job_id}/certificate")
    assert response.status_code == 409 and "queued" in response.json()["detail"]
    assert api.get(f"/jobs/{job_id}").json()["evidence"] is None
    api.post(f"/jobs/{job_id}/cancel")
    response = api.get(f"/jobs/{job_id}/certificate")
    assert response.status_code == 409 and "only unsat (certificate) and sat" in response.json()["detail"]
    assert other_api.get(f"/jobs/{job_id}/certificate").json() == {"detail": f"job {job_id!r} not found"}
    assert api.get(f"/jobs/{'0' * 32}/certificate").status_code == 404


def test_a_certificate_stored_as_json_by_an_earlier_version_is_served_as_the_zip(api, api_settings, bundled_benchmarks):
    """Artifacts were once a JSON wrapper (base64 zip): the first download stores the zip
    itself, so the job then shows the served file's sha256."""
    job_id, job, _ = finished(api, api_settings, bundled_benchmarks, "unsat")
    store = ArtifactStore(api_settings.artifacts_dir)
    zipped = store.read(job["evidence"]["sha256"])
    wrapper = json.dumps({"format": "certbound-certificate", "zip_base64": base64.b64encode(zipped).decode()}).encode()
    with session_scope(api_settings.database_url) as session:
        row = session.query(Artifact).filter_by(job_id=job_id).one()
        row.sha256, row.size_bytes = store.put_bytes(wrapper), len(wrapper)
    assert api.get(f"/jobs/{job_id}").json()["evidence"]["sha256"] == hashlib.sha256(wrapper).hexdigest()
    response = api.get(f"/jobs/{job_id}/certificate")
    assert response.content == zipped and response.headers["x-certbound-sha256"] == job["evidence"]["sha256"]
    assert api.get(f"/jobs/{job_id}").json()["evidence"] == job["evidence"]
