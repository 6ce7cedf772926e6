"""A multitask-train job's page: the latest epoch's per-task figures while it runs, then the per-task
table (accuracy, IBP and CROWN verified), the costs, and the trained model."""

from __future__ import annotations

from app.db.models import utcnow
from tests.web.support import finish_with_progress, text_of

TASKS = [{"label": "digit", "method": "ibp", "eps": 0.05, "accuracy": 0.875, "ibp_verified": 0.5,
          "crown_verified": 0.75, "crown_samples": 8},
         {"label": "digit", "method": "ibp", "eps": 0.1, "accuracy": 0.8125, "ibp_verified": 0.25,
          "crown_verified": 0.5, "crown_samples": 8}]
REPORT = {"samples": 16, "tasks": TASKS, "mean_accuracy": 0.84375, "mean_verified": 0.375, "train_s": 4.0,
          "train_cpu_s": 3.5, "epoch_s": 2.0, "step_s": 0.0123, "peak_rss_mb": 612.4, "combiner_extra_mb": 5.09,
          "epochs_run": 2, "best_epoch": None, "elapsed_s": 1.0, "extra": {"combiner": "pcgrad"}}
EPOCH = {"phase": "epoch", "epoch": 1, "epochs": 2, "lr": 1e-3, "loss": 3.25, "task_losses": [1.5, 1.75],
         "epoch_s": 2.0, "score": 0.3, "tasks": [{"label": "digit", "eps": 0.05, "accuracy": 0.8, "ibp_verified": 0.4},
                                                {"label": "digit", "eps": 0.1, "accuracy": 0.7, "ibp_verified": 0.2}]}


def test_a_multitask_job_page_shows_live_then_per_task_figures(alice, uploads, api_settings):
    config = {"dataset": "mnist", "method": "ibp", "tasks": [{"eps": 0.05}, {"eps": 0.1}], "combiner": "pcgrad"}
    response = alice.api.post("/jobs", json={"kind": "multitask-train", "config": config})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    finish_with_progress(api_settings, job_id, [EPOCH], status="running")
    words = text_of(alice.get(f"/jobs/{job_id}"))
    assert "Epoch 1 of 2, loss 3.25: digit at ε = 0.05 40.0 % IBP-verified; digit at ε = 0.1 20.0 % IBP-verified" in words
    trained = uploads[0]  # a model of alice's stands in for the one the worker registers
    finish_with_progress(api_settings, job_id, [{"phase": "evaluate"}], status="succeeded", finished_at=utcnow(),
                         result={"model_id": trained["id"], "report": REPORT, "history": [EPOCH], "stopped": False})
    page = alice.get(f"/jobs/{job_id}")
    words = text_of(page)
    assert ("Task Method ε Accuracy IBP verified CROWN verified digit ibp 0.05 87.5 % 50.0 % 75.0 % "
            "digit ibp 0.1 81.2 % 25.0 % 50.0 %") in words
    assert "Combiner pcgrad" in words and "Time per step 12.3 ms" in words and "612 MB resident" in words
    assert f'<a href="/models/{trained["id"]}">{trained["filename"]}</a>' in page.text
    assert 'id="chart"' not in page.text  # the verify chart is not a training job's


def test_a_stopped_multitask_job_says_it_has_no_report(alice, api_settings):
    job_id = alice.api.post("/jobs", json={"kind": "multitask-train", "config": {}}).json()["id"]
    finish_with_progress(api_settings, job_id, [EPOCH], status="cancelled", finished_at=utcnow(),
                         result={"model_id": None, "report": None, "history": [EPOCH], "stopped": True})
    words = text_of(alice.get(f"/jobs/{job_id}"))
    assert "Stopped before the last epoch" in words and "Task Method" not in words
