"""In Debian's headless chromium against a running `certbound serve` and worker: a verify
job on uploads chosen in the form keeps its figures once finished and shows its
certificate's check, and a train job submitted from the form draws its curve, reports
its accuracy and leads to the trained model."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.test_browser import JOB_URL, chart_points, sign_in

pytestmark = pytest.mark.browser
# A run of a few seconds: a small MLP on 64 images, evaluation shrunk to match.
QUICK_TRAINING = {"batch_size": 32, "train_subset": 64, "test_subset": 16, "eval_crown_subset": 0,
                  "eval_alpha_subset": 0, "complete_subset": 0, "eval_pgd_steps": 2, "eval_pgd_restarts": 1,
                  "device": "cpu"}


def api_client(dashboard) -> httpx.Client:
    return httpx.Client(base_url=f"{dashboard.url}/api/v1", headers={"Authorization": f"Bearer {dashboard.token}"},
                        timeout=30)


def series(page: Page) -> dict:
    return json.loads(page.locator("#job-series").text_content())


@pytest.mark.slow
def test_a_verify_job_on_chosen_uploads_keeps_its_figures_and_shows_its_checked_certificate(
        page, dashboard, bundled_benchmarks, artifacts_dir):
    folder = bundled_benchmarks / "mlp"
    with api_client(dashboard) as api:
        ids = {kind: api.post(f"/{kind}", files={"file": (path.name, path.read_bytes())}).json()["id"]
               for kind, path in (("models", folder / "onnx" / "relu5.onnx.gz"),
                                  ("properties", folder / "vnnlib" / "relu5_unsat.vnnlib.gz"))}
    sign_in(page, dashboard.token)
    page.get_by_role("link", name="Submit a job").click()
    page.get_by_label("Or one of your models").select_option(ids["models"])
    page.get_by_label("Or one of your properties").select_option(ids["properties"])
    page.get_by_label("Time limit in seconds").fill("60")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(JOB_URL)
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#live-verdict")).to_have_text("unsat", timeout=90_000)

    with api_client(dashboard) as api:
        job = api.get(f"/jobs/{job_id}").json()
    assert (job["model_id"], job["property_id"]) == (ids["models"], ids["properties"])
    page.reload()  # the finished job's page, as anyone opening it later sees it
    visited = job["result"]["domains_visited"]
    assert visited > 0
    expect(page.locator("#live-visited")).to_have_text(f"{visited:,}")
    expect(page.locator("#live-phase")).to_have_text("done")
    assert float(page.locator("#live-bound").inner_text()) > 0
    bounds = [b for b in series(page)["lower_bound"] if b is not None]
    assert bounds and bounds == sorted(bounds) and chart_points(page) == len(series(page)["elapsed_s"])
    expect(page.locator("#chart canvas")).to_be_visible()

    expect(page.locator("#check")).to_contain_text("passed")
    expect(page.locator("#check-by")).to_contain_text("certbound check")
    sha = page.locator("#evidence-sha256").inner_text()
    assert sha == job["evidence"]["sha256"]
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download certificate")).click()
    data = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == f"{job_id}.certificate.zip"
    assert hashlib.sha256(data).hexdigest() == sha
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    page.screenshot(path=artifacts_dir / "dashboard-job-finished.png", full_page=True)
    assert page.console_errors == []


@pytest.mark.slow
def test_train_from_the_form_follow_the_curve_and_open_the_trained_model(page, dashboard, artifacts_dir):
    sign_in(page, dashboard.token)
    page.get_by_role("link", name="Submit a job").click()
    page.get_by_label("Kind").select_option("train")
    page.get_by_label("Architecture").select_option("mlp")
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Time limit in seconds").fill("120")
    page.get_by_label("Engine options").fill(json.dumps(QUICK_TRAINING))
    page.screenshot(path=artifacts_dir / "dashboard-submit-train.png", full_page=True)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(JOB_URL)
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#live-status")).to_contain_text("succeeded", timeout=120_000)
    expect(page.locator("#chart")).to_have_attribute("data-points", "2")  # both epochs, drawn live
    expect(page.locator("#live-epoch")).to_have_text("2 of 2")
    report = page.locator("#accuracy-report")
    expect(report).to_contain_text("clean accuracy")
    expect(report).to_contain_text("IBP verified")
    expect(page.locator("#live-visited")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "dashboard-train-job.png", full_page=True)

    page.locator("#trained-model").get_by_role("link", name=f"trained-{job_id}.onnx").click()
    expect(page.get_by_role("heading", name=f"Model trained-{job_id}.onnx")).to_be_visible()
    model_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Submit a job on this model").click()
    expect(page.get_by_label("Or one of your models")).to_have_value(model_id)
    assert page.console_errors == []
