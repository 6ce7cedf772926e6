"""A distributed verify job whose sub-job's process is SIGKILLed: the sub-job goes on
from its last published frontier snapshot (not from scratch), and the job still ends
unsat with one valid certificate (nothing lost, nothing counted twice)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import time

from fastapi.testclient import TestClient

from app.db.session import session_scope
from app.main import create_app
from app.services import frontier
from app.services.reaper import reap
from app.storage import ArtifactStore
from core.certificate import check
from core.verifier.parallel import load
from tests.app.parallel import Workers, sub_jobs, submit
from tests.conftest import REPO
from tests.service.support import Api, environment, new_token, sqlite_settings
from worker.runner import run_attempt


def test_a_killed_sub_job_resumes_from_its_snapshot_and_the_job_ends_right(tmp_path, bundled_benchmarks):
    # snapshots at almost every batch: the sub-job, started before the deal, searches its
    # half at once, about 1 s on a fast machine, and must be killed after publishing one
    settings = sqlite_settings(tmp_path / "data", heartbeat_stale_s=2.0, frontier_snapshot_s=0.05)
    relu5 = bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz"
    text = gzip.open(bundled_benchmarks / "mlp" / "vnnlib" / "relu5_unsat.vnnlib.gz").read().decode()
    prop_path = tmp_path / "relu5_1.9.vnnlib"  # unsat; ReLU splitting takes some 11,000 domains (1.8 s alone)
    prop_path.write_text(text.replace("1.5490868091583252", "1.9"))
    named = tmp_path / "parent"
    doomed = subprocess.Popen([sys.executable, "-m", "tests.worker.claim_part", str(named)], cwd=REPO,
                              env=environment(settings), start_new_session=True)
    try:
        with TestClient(create_app(settings)) as client:
            api = Api(client, new_token(settings))
            model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
            job_id = submit(api, {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 120,
                                  "config": {"branching": "relu", "parallel": 2, "threads": 1}})
            parent = threading.Thread(target=run_attempt, args=(settings, job_id, "parent@test"))
            parent.start()
            named.write_text(job_id)
            snapshot = _published(settings, job_id)
            doomed.kill()
            doomed.wait(timeout=10)
            killed = time.monotonic()
            with Workers(settings, job_id, 1):
                while parent.is_alive():
                    with session_scope(settings.database_url) as session:
                        reap(session, settings)
                    parent.join(timeout=0.5)
                    assert time.monotonic() - killed < 60
            job = api.get(f"/jobs/{job_id}").json()
            certificate = api.get(f"/jobs/{job_id}/certificate").content
    finally:
        doomed.kill()
    assert job["verdict"] == "unsat" and job["result"]["check"]["valid"], job
    assert check(gzip.open(relu5).read(), prop_path, certificate).valid
    (kid,) = [k for k in sub_jobs(settings, job_id) if k.kind == "verify-part"]
    # it went on from the snapshot its killed attempt published: in a second attempt, or
    # taken over whole by the parent once the reaper re-queued it
    assert snapshot["visited"] > 0
    if kid.status == "succeeded":
        assert kid.attempts == 2 and kid.result["domains_visited"] >= snapshot["visited"]
    else:
        assert kid.status == "cancelled" and kid.error.startswith("taken over"), kid.error


def _published(settings, job_id: str) -> dict:
    """Wait until the running sub-job has published a snapshot with work in it; return it."""
    store = ArtifactStore(settings.artifacts_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = [k for k in sub_jobs(settings, job_id) if k.status == "running"]
        if running:
            with session_scope(settings.database_url) as session:
                data = frontier.snapshot_of(session, store, running[0].id)
            state = load(data) if data else None
            if state and state["visited"] > 0:
                return state
        time.sleep(0.1)
    raise TimeoutError("the sub-job published no snapshot with work in it")
