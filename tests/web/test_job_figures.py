"""What a job page shows once the job has reported: a verify job's figures (kept after it
finishes), its best bound (never shown getting worse), each disjunct, and the evidence
with its check; a train job's curve, accuracy report and trained model."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.db.models import utcnow
from app.services.dashboard import running_best
from tests.web.support import finish_with_progress, store_evidence, text_of


def series_of(page) -> dict:
    return json.loads(page.text.split('<script id="job-series" type="application/json">')[1].split("</script>")[0])


def test_the_best_bound_so_far_never_gets_worse():
    assert running_best([None, -717.9, -792.5, -443.7, None, -500.0]) == [None, -717.9, -717.9, -443.7, -443.7, -443.7]
    assert running_best([]) == [] and running_best([None]) == [None]


# What a worker wrote before the fix: bab reports, then a "checking" report without figures.
BAB = [{"phase": "bab", "domains_visited": v, "domains_open": o, "lower_bound": b, "elapsed_s": t}
       for v, o, b, t in ((20, 9, -717.9, 1.0), (50, 14, -792.5, 2.0), (76, 3, -443.7, 2.5))]
CHECKING = {"phase": "checking", "elapsed_s": 2.9}


@pytest.mark.parametrize("result, best", [({"domains_visited": 76, "elapsed_s": 2.9, "lower_bound": 0.02}, "0.02"),
                                          ({"domains_visited": 76, "elapsed_s": 2.9}, "-443.7")])
def test_a_finished_job_keeps_its_figures_and_its_best_bound(alice, uploads, api_settings, result, best):
    job_id = alice.api.submit(*uploads)
    finish_with_progress(api_settings, job_id, BAB + [CHECKING], status="succeeded", verdict="unsat",
                         result={"message": "", **result}, finished_at=utcnow())
    page = alice.get(f"/jobs/{job_id}")
    words = text_of(page)
    assert "Phase done" in words and "Domains visited 76" in words and f"Best lower bound {best}" in words
    assert "2.9 s of" in words and 'id="cancel"' not in page.text
    series = series_of(page)
    assert series["lower_bound"] == [-717.9, -717.9, -443.7, -443.7]
    assert series["elapsed_s"] == [1.0, 2.0, 2.5, 2.9]


def test_a_running_job_shows_the_best_bound_of_all_its_reports(alice, uploads, api_settings):
    job_id = alice.api.submit(*uploads)
    finish_with_progress(api_settings, job_id, BAB, status="running")
    words = text_of(alice.get(f"/jobs/{job_id}/panel"))
    assert "Best lower bound -443.7" in words and "Domains visited 76" in words and "Domains open 3" in words
    finish_with_progress(api_settings, job_id, [{**BAB[1], "domains_visited": 90}], status="running")
    words = text_of(alice.get(f"/jobs/{job_id}/panel"))
    assert "Best lower bound -443.7" in words and "Domains visited 90" in words


def test_each_disjunct_shows_its_status_and_bound(alice, uploads, api_settings):
    targets = [{"region": 0, "disjunct": 0, "status": "unsat", "lower_bound": 0.25, "closed_by": "bab"},
               {"region": 0, "disjunct": 1, "status": "open", "lower_bound": -1.5, "closed_by": None},
               {"region": 1, "disjunct": 0, "status": "sat", "lower_bound": -3.0, "closed_by": None}]
    job_id = alice.api.submit(*uploads)
    finish_with_progress(api_settings, job_id, BAB, status="succeeded", verdict="sat", finished_at=utcnow(),
                         result={"targets": targets, "domains_visited": 76})
    page = alice.get(f"/jobs/{job_id}")
    table = text_of(page).split("what its checked evidence backs.")[1].strip()
    assert table.startswith("Region Disjunct Status Best lower bound Closed by 0 0 unsat 0.25 bab 0 1 open -1.5 — "
                            "1 0 sat -3 —")
    single = alice.api.submit(*uploads)
    finish_with_progress(api_settings, single, BAB, status="succeeded", verdict="unsat", finished_at=utcnow(),
                         result={"targets": targets[:1]})
    assert 'id="disjuncts"' not in alice.get(f"/jobs/{single}").text  # one disjunct: the verdict says it all


@pytest.mark.parametrize("check, shown", [
    ({"valid": True, "reason": "", "time_s": 0.42, "stopped": False}, "Check passed Checked by the independent "
     "certificate checker ( certbound check ) Check time 0.4 s"),
    ({"valid": False, "reason": "leaf 3 bound -0.2", "time_s": 1.0, "stopped": False}, "Check failed — leaf 3 bound -0.2"),
    ({"valid": False, "reason": "time limit", "time_s": 5.0, "stopped": True}, "Check not finished — time limit"),
    (None, "Check not checked yet"),
])
def test_the_certificate_and_its_check_read_as_a_summary_and_download_as_the_api_serves_it(
        alice, uploads, api_settings, check, shown):
    job_id = alice.api.submit(*uploads)
    data = b"PK\x05\x06" + bytes(18)  # an empty zip: the store keeps the file as it is
    sha = store_evidence(api_settings, job_id, "certificate", data)
    result = {"message": "", **({"check": check} if check is not None else {})}
    finish_with_progress(api_settings, job_id, BAB, status="succeeded", verdict="unsat", result=result,
                         finished_at=utcnow())
    words = text_of(alice.get(f"/jobs/{job_id}"))
    assert shown in words
    assert f"File {job_id}.certificate.zip , {len(data)} bytes sha256 {sha}" in words
    assert f"Download certificate (zip, {len(data)} bytes)" in words
    download = alice.get(f"/jobs/{job_id}/certificate")
    api = alice.api.get(f"/jobs/{job_id}/certificate")
    assert download.content == api.content == data and hashlib.sha256(download.content).hexdigest() == sha
    assert download.headers["content-disposition"] == api.headers["content-disposition"] \
        == f'attachment; filename="{job_id}.certificate.zip"'


def test_a_counterexample_says_how_it_was_checked_and_a_job_without_evidence_has_no_download(
        alice, uploads, api_settings):
    job_id = alice.api.submit(*uploads)
    store_evidence(api_settings, job_id, "counterexample", b"sat\n((X_0 0.5)\n (Y_0 -1.0))\n")
    finish_with_progress(api_settings, job_id, BAB, status="succeeded", verdict="sat", finished_at=utcnow(),
                         result={"check": {"valid": True, "reason": "x is in box 0", "time_s": 0.01}})
    words = text_of(alice.get(f"/jobs/{job_id}"))
    assert "Counterexample Check passed — x is in box 0 Checked by onnxruntime" in words
    assert "Download counterexample (VNN-COMP result file" in words
    bare = alice.api.submit(*uploads)
    assert 'id="download"' not in alice.get(f"/jobs/{bare}").text
    response = alice.get(f"/jobs/{bare}/certificate")
    assert response.status_code == 409 and "only once it finishes" in text_of(response)


EPOCHS = [{"phase": "epoch", "epoch": k, "epochs": 2, "eps": 0.1 * k, "lr": 5e-4, "loss": loss,
           "train_accuracy": acc, "train_robust_error": None, "epoch_s": 1.0, "test_clean": acc - 0.05,
           "test_ibp_verified": acc / 2} for k, loss, acc in ((1, 2.1, 0.6), (2, 1.4, 0.8))]
REPORT = {"eps": 0.1, "samples": 16, "clean": 0.875, "pgd": 0.75, "ibp": 0.5, "crown": None, "crown_samples": 0,
          "alpha_crown": None, "alpha_samples": 0, "complete": 0.25, "complete_samples": 4, "complete_timeouts": 0,
          "complete_decided": 4, "complete_runs": 2, "elapsed_s": 3.5}


def train_job(alice) -> str:
    response = alice.api.post("/jobs", json={"kind": "train", "config": {"arch": "mlp", "epochs": 2}})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_a_train_job_shows_its_curve_accuracy_report_and_trained_model(alice, uploads, api_settings):
    trained = uploads[0]  # a model of alice's stands in for the one the worker registers
    job_id = train_job(alice)
    finish_with_progress(api_settings, job_id, EPOCHS + [{"phase": "evaluate"}], status="succeeded",
                         finished_at=utcnow(),
                         result={"model_id": trained["id"], "report": REPORT, "history": EPOCHS, "stopped": False})
    page = alice.get(f"/jobs/{job_id}")
    words = text_of(page)
    assert "Model a new mlp network" in words and "Epoch 2 of 2" in words and "Loss 1.4" in words
    assert "Training accuracy 80.0 %" in words and "Domains visited" not in words
    assert ("Measure Accuracy Test examples clean accuracy 87.5 % 16 PGD accuracy 75.0 % 16 IBP verified 50.0 % 16 "
            "CROWN verified skipped 0 α-CROWN verified skipped 0 complete verifier verified 25.0 % 4") in words
    assert f'<a href="/models/{trained["id"]}">{trained["filename"]}</a>' in page.text
    assert f'href="/submit?model_id={trained["id"]}"' in page.text
    series = series_of(page)
    assert series["epoch"] == [1, 2] and series["loss"] == [2.1, 1.4] and series["test_ibp_verified"] == [0.3, 0.4]
    form = alice.get(f"/submit?model_id={trained['id']}")
    assert f'<option value="{trained["id"]}" selected>' in form.text


def test_a_running_train_job_draws_the_epochs_so_far_and_a_stopped_one_says_it_has_no_report(
        alice, api_settings):
    job_id = train_job(alice)
    finish_with_progress(api_settings, job_id, EPOCHS[:1] + [{"phase": "train", "epoch": 2, "batch": 3,
                                                                "batches": 10}], status="running")
    page = alice.get(f"/jobs/{job_id}")
    assert "Epoch 2 of 2, batch 3 of 10" in text_of(page) and series_of(page)["epoch"] == [1]
    finish_with_progress(api_settings, job_id, [{"phase": "epoch", **EPOCHS[1]}], status="cancelled",
                         finished_at=utcnow(), result={"model_id": None, "report": None, "history": EPOCHS,
                                                       "stopped": True})
    words = text_of(alice.get(f"/jobs/{job_id}"))
    assert "Stopped before the last epoch" in words and "Measure Accuracy" not in words
