"""End to end in Debian's headless chromium against a running `certbound serve`: sign in,
submit a shared benchmark instance, watch it live, see the verdict, download the
certificate, cancel a long job, and never see another owner's jobs."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.service.support import UNDECIDABLE, instance, new_token

pytestmark = pytest.mark.browser
JOB_URL = re.compile(r"/jobs/[0-9a-f]{32}$")


def sign_in(page: Page, token: str) -> None:
    page.goto("/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/jobs$"))
    expect(page.get_by_label("API token")).to_be_focused()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()


def submit(page: Page, model: Path, prop: Path, timeout_s: int) -> str:
    page.get_by_role("link", name="Submit a job").click()
    page.get_by_label("ONNX model").set_input_files(model)
    page.get_by_label("VNN-LIB property").set_input_files(prop)
    page.get_by_label("Time limit in seconds").fill(str(timeout_s))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(JOB_URL)
    return page.url.rsplit("/", 1)[1]


def chart_points(page: Page) -> int:
    return int(page.locator("#chart").get_attribute("data-points"))


def wait_for_points(page: Page, more_than: int, timeout_s: float) -> int:
    """Poll from here: the page's Content-Security-Policy forbids the string evaluation
    that Playwright's wait_for_function would need."""
    deadline = time.monotonic() + timeout_s
    while (points := chart_points(page)) <= more_than:
        assert time.monotonic() < deadline, f"the chart stayed at {points} points for {timeout_s} s"
        page.wait_for_timeout(200)
    return points


@pytest.mark.slow
def test_submit_see_the_verdict_and_download_the_certificate(page, dashboard, bundled_benchmarks, artifacts_dir):
    sign_in(page, dashboard.token)
    job_id = submit(page, *instance(bundled_benchmarks, "mlp", "relu5", "relu5_unsat"), timeout_s=60)
    expect(page.locator("#status-strip")).to_contain_text("1 live worker")
    expect(page.locator("#live-verdict")).to_have_text("unsat", timeout=90_000)
    expect(page.locator("#live-status")).to_contain_text("succeeded")
    assert chart_points(page) >= 1
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download certificate")).click()
    assert zipfile.is_zipfile(download.value.path())  # the file `certbound check` reads
    assert download.value.suggested_filename == f"{job_id}.certificate.zip"
    page.screenshot(path=artifacts_dir / "dashboard-job-page.png", full_page=True)

    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"Job {job_id[:8]}"))
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("unsat")
    expect(row).to_contain_text("relu5.onnx.gz")
    page.screenshot(path=artifacts_dir / "dashboard-job-list.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"
    page.screenshot(path=artifacts_dir / "dashboard-job-list-phone.png", full_page=True)
    assert page.console_errors == []


@pytest.mark.slow
def test_watch_a_long_job_live_and_cancel_it(page, dashboard, bundled_benchmarks, artifacts_dir):
    sign_in(page, dashboard.token)
    submit(page, *instance(bundled_benchmarks, *UNDECIDABLE), timeout_s=300)
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#live-status")).to_contain_text("running", timeout=60_000)
    points = wait_for_points(page, 1, timeout_s=60)
    elapsed = page.locator("#live-elapsed").inner_text()
    wait_for_points(page, points, timeout_s=30)
    expect(page.locator("#live-elapsed")).not_to_have_text(elapsed, timeout=10_000)
    expect(page.locator("#chart canvas")).to_be_visible()
    page.screenshot(path=artifacts_dir / "dashboard-job-running.png", full_page=True)

    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#live-status")).to_contain_text("cancelled", timeout=30_000)
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.console_errors == []


def test_one_owner_never_sees_another_owners_jobs(chromium, dashboard, bundled_benchmarks):
    headers = {"Authorization": f"Bearer {dashboard.token}"}
    with httpx.Client(base_url=f"{dashboard.url}/api/v1", headers=headers, timeout=30) as api:
        path = bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz"
        model = api.post("/models", files={"file": (path.name, path.read_bytes())}).json()
        job_id = api.post("/jobs", json={"kind": "inspect", "model_id": model["id"]}).json()["id"]

    context = chromium.new_context(base_url=dashboard.url)
    try:
        page = context.new_page()
        sign_in(page, new_token(dashboard.settings, "mallory"))
        expect(page.locator("#job-count")).to_have_text("0 jobs.")
        expect(page.get_by_role("link", name=f"Job {job_id[:8]}")).to_have_count(0)
        for url in (f"/jobs/{job_id}", f"/models/{model['id']}"):
            response = page.goto(url)
            assert response.status == 404, url
            expect(page.get_by_role("alert")).to_contain_text("not found")
        assert context.request.get(f"/jobs/{job_id}/certificate").status == 404
        assert context.request.post(f"/jobs/{job_id}/cancel").status == 403
    finally:
        context.close()
