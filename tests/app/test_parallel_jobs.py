"""Distributed verify jobs (`parallel`): the same verdicts as one job, one merged
certificate the ordinary checker accepts, a counterexample found in a sub-job, cancels."""

from __future__ import annotations

import gzip
import threading
import time

import pytest

from app.db.session import session_scope
from app.services import frontier
from app.services.job_state import TERMINAL
from core.certificate import Certificate, check
from core.certificate.split import weights_of, worth_splitting
from core.verifier.parallel import Holder
from tests.app.parallel import Workers, run_parallel_job, sub_jobs, submit
from tests.web.support import WebUser
from worker.runner import run_attempt

# relu5's output 0 stays below 1.157 on the box (MILP): above this the instance is unsat,
# at a size branch and bound closes in about a second either way
THRESHOLD = {"input": 2.3, "relu": 4.0}


@pytest.fixture
def relu5(bundled_benchmarks):
    return bundled_benchmarks / "mlp" / "onnx" / "relu5.onnx.gz"


def relu5_property(bundled_benchmarks, tmp_path, threshold: float):
    text = gzip.open(bundled_benchmarks / "mlp" / "vnnlib" / "relu5_unsat.vnnlib.gz").read().decode()
    path = tmp_path / f"relu5_{threshold}.vnnlib"
    path.write_text(text.replace("1.5490868091583252", str(threshold)))
    return path


@pytest.mark.parametrize("branching, heavy", [("input", False), ("relu", False), ("relu", True)])
def test_parallel_verify_is_unsat_with_one_merged_certificate(api, api_settings, bundled_benchmarks, relu5, tmp_path,
                                                              branching, heavy, monkeypatch):
    # trees this small are checked whole by default; a lower threshold makes the input-split one split,
    # and counting each node of relu5 (1,344 weights) four times the ReLU-split one too
    monkeypatch.setattr("core.certificate.split.MIN_NODES_PER_PART", 256)
    if heavy:
        monkeypatch.setattr("core.certificate.split.WEIGHTS_PER_NODE", 1344 // 4)
    prop_path = relu5_property(bundled_benchmarks, tmp_path, THRESHOLD[branching])
    model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
    body = {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60,
            "config": {"branching": branching, "parallel": 2, "threads": 1}}
    job = run_parallel_job(api, api_settings, body, workers=1)
    assert job["status"] == "succeeded" and job["verdict"] == "unsat", job
    assert job["result"]["check"]["valid"] is True
    kids = sub_jobs(api_settings, job["id"])
    certificate = api.get(f"/jobs/{job['id']}/certificate").content
    # the search, then half of the check where the tree is big enough to split (input: 668 boxes; ReLU: 248)
    split = worth_splitting(Certificate.load(certificate), 2, weights=weights_of(gzip.open(relu5).read()))
    assert split == (branching == "input" or heavy)
    assert [k.kind for k in kids] == ["verify-part"] + ["check-part"] * split
    assert all(k.status in ("succeeded", "cancelled") for k in kids)
    assert check(gzip.open(relu5).read(), prop_path, certificate).valid
    # the dashboard's job page lists this job and its sub-jobs, searchers with their frontier over time
    page = WebUser(api.client, api.headers["Authorization"].split()[1]).get(f"/jobs/{job['id']}")
    table = page.text.split('id="sub-jobs"', 1)[1].split("</table>", 1)[0]
    assert all(k.id in table for k in kids) and table.count("<tr>") == 1 + 1 + len(kids)
    assert table.count("<polyline") == 2  # the parent's and the verify-part's frontier, not the check's


def hold_grow_until_a_sub_job_waits(settings, monkeypatch, then=Holder.grow):
    """Make the parent grow its frontier (with `then`) only once a sub-job it sent before
    dealing is running and waiting for its piece, so that the test does not depend on
    how soon a worker thread claims it."""

    def grow(holder, parts, *args, **kwargs):
        deadline = time.monotonic() + 30
        while not [k for k in sub_jobs(settings, holder.name)
                   if k.status == "running" and (k.progress or {}).get("phase") == "waiting"]:
            assert time.monotonic() < deadline, "no sub-job waited for its piece"
            time.sleep(0.05)
        return then(holder, parts, *args, **kwargs)

    monkeypatch.setattr(Holder, "grow", grow)


def test_a_sub_job_started_before_the_deal_waits_for_its_piece_then_searches_it(api, api_settings, bundled_benchmarks,
                                                                                relu5, tmp_path, monkeypatch):
    hold_grow_until_a_sub_job_waits(api_settings, monkeypatch)
    prop_path = relu5_property(bundled_benchmarks, tmp_path, THRESHOLD["input"])
    model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
    body = {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60,
            "config": {"branching": "input", "parallel": 2, "threads": 1}}
    job = run_parallel_job(api, api_settings, body, workers=1)
    assert job["status"] == "succeeded" and job["verdict"] == "unsat", job
    assert job["result"]["check"]["valid"] is True
    (kid,) = [k for k in sub_jobs(api_settings, job["id"]) if k.kind == "verify-part"]
    assert kid.status == "succeeded" and kid.verdict == "unsat" and kid.result["resumed_with"] > 0
    phases = [e["data"].get("phase") for e in api.get(f"/jobs/{kid.id}/events").json() if e["type"] == "progress"]
    assert "waiting" in phases and phases.index("waiting") < phases.index("bab"), phases


def test_a_sub_job_sent_before_a_deal_that_never_comes_ends_cancelled_without_a_snapshot(api, api_settings,
                                                                                         bundled_benchmarks, relu5,
                                                                                         tmp_path, monkeypatch):
    from core.bab.budget import Stop

    def times_out(holder, parts, *args, **kwargs):
        raise Stop("timeout")

    hold_grow_until_a_sub_job_waits(api_settings, monkeypatch, then=times_out)
    prop_path = relu5_property(bundled_benchmarks, tmp_path, THRESHOLD["input"])
    model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
    body = {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60,
            "config": {"branching": "input", "parallel": 2, "threads": 1}}
    job_id = submit(api, body)
    with Workers(api_settings, job_id, 1):
        run_attempt(api_settings, job_id, "parent@test")
        deadline = time.monotonic() + 10
        while any(k.status not in TERMINAL for k in sub_jobs(api_settings, job_id)):
            assert time.monotonic() < deadline, "the waiting sub-job still runs 10 s after its parent ended"
            time.sleep(0.1)
    assert api.get(f"/jobs/{job_id}").json()["verdict"] == "timeout"
    (kid,) = sub_jobs(api_settings, job_id)
    assert kid.status == "cancelled"
    with session_scope(api_settings.database_url) as session:
        assert frontier.snapshot_of(session, None, kid.id) is None


def test_a_waiting_sub_job_whose_parent_failed_before_dealing_ends_without_waiting_for_its_deadline(
        api, api_settings, bundled_benchmarks, relu5, tmp_path, monkeypatch):
    from sqlalchemy import update

    from app.db.models import Job
    from core.bab.budget import Stop

    def dies(holder, parts, *args, **kwargs):
        # what the reaper does to a parent whose worker died on its last attempt; its
        # parts are not cancelled (that happens below, once this test has looked)
        with session_scope(api_settings.database_url) as session:
            session.execute(update(Job).where(Job.id == holder.name).values(status="failed", error="worker died"))
        deadline = time.monotonic() + 10
        while any(k.status not in TERMINAL for k in sub_jobs(api_settings, holder.name)):
            assert time.monotonic() < deadline, "the waiting sub-job still runs 10 s after its parent failed"
            time.sleep(0.1)
        raise Stop("timeout")

    hold_grow_until_a_sub_job_waits(api_settings, monkeypatch, then=dies)
    prop_path = relu5_property(bundled_benchmarks, tmp_path, THRESHOLD["input"])
    model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
    job_id = submit(api, {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 600,
                          "config": {"branching": "input", "parallel": 2, "threads": 1}})
    with Workers(api_settings, job_id, 1):
        run_attempt(api_settings, job_id, "parent@test")
    (kid,) = sub_jobs(api_settings, job_id)
    assert kid.status == "cancelled" and kid.error.startswith("the parent job ended"), (kid.status, kid.error)
    with session_scope(api_settings.database_url) as session:
        assert frontier.snapshot_of(session, None, kid.id) is None


def test_a_counterexample_in_any_part_ends_the_job_and_cancels_the_other_parts(api, api_settings, bundled_benchmarks,
                                                                               relu5, tmp_path):
    # just below the maximum: found some hundred boxes deep, past the parent's dealing
    prop_path = relu5_property(bundled_benchmarks, tmp_path, 1.14)
    model, prop = api.upload_ok("models", relu5), api.upload_ok("properties", prop_path)
    body = {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60,
            "config": {"branching": "input", "parallel": 3, "threads": 1, "attack_restarts": 0}}
    job = run_parallel_job(api, api_settings, body, workers=2)
    assert job["status"] == "succeeded" and job["verdict"] == "sat", job
    assert job["result"]["check"]["valid"] is True  # replayed in onnxruntime by the parent
    kids = sub_jobs(api_settings, job["id"])
    assert len(kids) == 2
    # every part ended: the one that found it with sat, the others cancelled (or taken over)
    assert all(k.status in ("succeeded", "cancelled") for k in kids), [(k.status, k.verdict) for k in kids]
    assert all(k.verdict in ("sat", "unsat", None) for k in kids)


def test_cancelling_the_parent_cancels_every_part_within_seconds(api, api_settings, bundled_benchmarks):
    open_net = bundled_benchmarks / "open" / "onnx" / "wide.onnx.gz"
    open_prop = bundled_benchmarks / "open" / "vnnlib" / "wide_open.vnnlib.gz"
    model, prop = api.upload_ok("models", open_net), api.upload_ok("properties", open_prop)
    job_id = submit(api, {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 120,
                          "config": {"parallel": 2, "threads": 1}})
    parent = threading.Thread(target=run_attempt, args=(api_settings, job_id, "parent@test"))
    with Workers(api_settings, job_id, 1):
        parent.start()
        deadline = time.monotonic() + 60
        while not [k for k in sub_jobs(api_settings, job_id) if k.status == "running"]:
            assert time.monotonic() < deadline, "no sub-job started"
            time.sleep(0.1)
        assert api.post(f"/jobs/{job_id}/cancel").status_code == 202
        cancelled = time.monotonic()
        parent.join(timeout=30)
        while any(k.status not in TERMINAL for k in sub_jobs(api_settings, job_id)):
            assert time.monotonic() - cancelled < 10, "a sub-job still runs 10 s after the cancel"
            time.sleep(0.1)
    assert api.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
    assert {k.status for k in sub_jobs(api_settings, job_id)} == {"cancelled"}
