"""A distributed verify job spreads its root's lemma searches over `lemma-part` sub-jobs
(worker/parallel_lemmas.py): the certificate carries the lemmas one process proves, and a
share no worker takes, whose worker died on its last attempt or went silent, is searched
by the parent itself. Before the lemmas, one job's first search without them runs spread
too, for its share of the time: it decides alone where it can, else its parts end and
the lemmas follow."""

from __future__ import annotations

import functools
import time
from datetime import timedelta, timezone

import numpy as np

from app.db.models import Job, utcnow
from app.db.session import session_scope
from app.services.job_state import claim, reap_one
from core.certificate import Certificate, check
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from core.verifier.parallel import Holder
from tests.app.parallel import run_parallel_job, sub_jobs
from tests.app.test_parallel_jobs import hold_grow_until_a_sub_job_waits
from tests.core.certificate.nets import forward, onnx_bytes, one_row_property, random_layers

# 3 ReLU layers, the second's 32 neurons all unstable on the box: 32 lemma searches, 16 per
# part; 1.0 under the sampled minimum, the search after the lemmas closes it in about a second
LAYERS = random_layers(np.random.default_rng(3), [5, 32, 32, 12, 1])
LOWER, UPPER = -np.ones(5), np.ones(5)
D = float(forward(LAYERS, np.random.default_rng(1).uniform(-1, 1, (200_000, 5))).min()) - 1.0
# a fixed domain count per lemma search, and no time cap that a slow machine could hit first
CONFIG = {"branching": "relu", "threads": 1, "search_before_lemmas": 0, "lemma_domains": 32, "lemma_seconds": 60}


def vnnlib() -> str:
    inputs = "\n".join(f"(declare-const X_{i} Real)" for i in range(5))
    box = "\n".join(f"(assert (>= X_{i} -1.0))\n(assert (<= X_{i} 1.0))" for i in range(5))
    return f"{inputs}\n(declare-const Y_0 Real)\n{box}\n(assert (<= Y_0 {D!r}))\n"


@functools.cache
def lemmas_of_one_process() -> list[tuple]:
    network = load_network(onnx_bytes(LAYERS))
    result = verify(network, one_row_property(LOWER, UPPER, np.ones(1), D),
                    VerifyConfig(timeout_s=60, device="cpu", **CONFIG))
    assert result.verdict is Verdict.UNSAT, result.message
    return [(lemma["neuron"], lemma["side"], lemma["threshold"]) for lemma in result.certificate["lemmas"][0]]


def lemma_parts(settings, job_id: str) -> list[Job]:
    return [k for k in sub_jobs(settings, job_id) if k.kind == "lemma-part"]


def submit_instance(api, tmp_path, parallel: int, **config) -> dict:
    (tmp_path / "net.onnx").write_bytes(onnx_bytes(LAYERS))
    (tmp_path / "prop.vnnlib").write_text(vnnlib())
    model, prop = api.upload_ok("models", tmp_path / "net.onnx"), api.upload_ok("properties", tmp_path / "prop.vnnlib")
    return {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60,
            "config": {**CONFIG, "parallel": parallel, **config}}


def assert_proves_what_one_process_proves(api, job: dict, tmp_path) -> None:
    assert job["status"] == "succeeded" and job["verdict"] == "unsat", job
    assert job["result"]["check"]["valid"] is True
    data = api.get(f"/jobs/{job['id']}/certificate").content
    certificate = Certificate.load(data)
    assert [(lemma.neuron, lemma.side, lemma.threshold) for lemma in certificate.lemmas] == lemmas_of_one_process()
    assert certificate.lemmas and check(onnx_bytes(LAYERS), tmp_path / "prop.vnnlib", data).valid


def test_a_worker_searches_its_share(api, api_settings, tmp_path):
    """... in half the time one process gives the layer (LEMMA_SHARE of the time left, about 15 s)."""
    from app.storage import ArtifactStore
    from core.verifier.parallel import load
    from core.verifier.pipeline import LEMMA_SHARE

    job = run_parallel_job(api, api_settings, submit_instance(api, tmp_path, 2), workers=1)
    assert_proves_what_one_process_proves(api, job, tmp_path)
    [share] = lemma_parts(api_settings, job["id"])
    assert share.status == "succeeded" and share.result["searched"] == 16, share.result  # half the neurons
    work = load(ArtifactStore(api_settings.artifacts_dir).read(share.config["work"]))
    seconds = work.end_unix - share.created_at.replace(tzinfo=timezone.utc).timestamp()
    assert 0 < seconds < 0.75 * LEMMA_SHARE * 60, seconds


def test_the_parent_searches_the_shares_of_dead_silent_and_missing_workers(api, api_settings, tmp_path):
    """Four parts, 8 neurons each: the first share's worker dies on its last attempt, the
    second's stops sending heartbeats, the third is never taken by a worker."""
    fates = []

    def on_claim(job_id: str) -> bool:
        with session_scope(api_settings.database_url) as session:
            job = session.get(Job, job_id)
            if job.kind != "lemma-part":
                return False  # the search's sub-jobs run as usual
            if job_id not in fates:
                fates.append(job_id)
            fate = fates.index(job_id)
            if fate == 0:
                attempt = claim(session, job_id, "dying@test")
                assert reap_one(session, session.get(Job, job_id), attempt, job.heartbeat_at) == "failed"
            elif fate == 1:
                claim(session, job_id, "silent@test")
                session.get(Job, job_id).heartbeat_at = utcnow() - timedelta(hours=1)
        time.sleep(0.05)  # the third stays queued: leave the parent time to take it over
        return True

    job = run_parallel_job(api, api_settings, submit_instance(api, tmp_path, 4), workers=1, on_claim=on_claim)
    assert_proves_what_one_process_proves(api, job, tmp_path)
    dead, silent, missing = lemma_parts(api_settings, job["id"])
    assert dead.status == "failed" and "gave up" in dead.error, dead.error
    assert silent.status == "running" and silent.cancel_requested  # the reaper settles it later
    assert missing.status == "cancelled" and missing.error.startswith("taken over"), missing.error


def test_the_first_search_without_lemmas_decides_spread_over_the_parts(api, api_settings, tmp_path, monkeypatch):
    """Without lemmas this instance closes in some 24 domains (0.2 s): the first search,
    dealt to a sub-job too (at one domain a part at once), proves it before any lemma (its
    share, 15 s, leaves room for the wait for the sub-job)."""
    hold_grow_until_a_sub_job_waits(api_settings, monkeypatch, functools.partial(Holder.grow, deal_after_s=0.0))
    job = run_parallel_job(api, api_settings, submit_instance(api, tmp_path, 2, search_before_lemmas=0.5), workers=1)
    assert job["status"] == "succeeded" and job["verdict"] == "unsat", job
    assert job["result"]["check"]["valid"] is True
    certificate = Certificate.load(api.get(f"/jobs/{job['id']}/certificate").content)
    assert not certificate.lemmas and [t.root for t in certificate.targets] == ["alpha"]
    kids = sub_jobs(api_settings, job["id"])
    assert [(k.kind, k.status, k.verdict) for k in kids] == [("verify-part", "succeeded", "unsat")]
    assert kids[0].result["resumed_with"] > 0


def test_a_first_search_that_runs_out_of_its_share_ends_its_parts_and_the_lemmas_follow(api, api_settings, tmp_path,
                                                                                        monkeypatch):
    """A share too short for anything: the first search stops while its sub-job waits for
    its piece; that sub-job is cancelled, and the lemmas and the last search prove the
    instance as without the first search."""
    hold_grow_until_a_sub_job_waits(api_settings, monkeypatch, functools.partial(Holder.grow, deal_after_s=0.0))
    job = run_parallel_job(api, api_settings, submit_instance(api, tmp_path, 2, search_before_lemmas=1e-9), workers=1)
    assert_proves_what_one_process_proves(api, job, tmp_path)
    phases = [e["data"].get("phase") for e in api.get(f"/jobs/{job['id']}/events").json() if e["type"] == "progress"]
    assert "first search ended" in phases and phases.index("first search ended") < phases.index("dealt"), phases
    first, *later = [k for k in sub_jobs(api_settings, job["id"]) if k.kind == "verify-part"]
    assert first.status == "cancelled" and first.result.get("resumed_with") is None, (first.status, first.result)
    assert [(k.status, k.verdict) for k in later] == [("succeeded", "unsat")]
    assert [k.status for k in lemma_parts(api_settings, job["id"])] == ["succeeded"]
