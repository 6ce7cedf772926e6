"""Dashboard fixtures: the API test app per backend (reused from tests/app) with signed-in
web users, and for browser tests a real `certbound serve` and Debian's chromium."""

from __future__ import annotations

import pytest

from tests.app.conftest import api_settings, client  # noqa: F401 - the same app per backend as the API tests
from tests.service.support import ServeProcess, WorkerProcess, new_token, sqlite_settings
from tests.web.support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Dashboard, WebUser


@pytest.fixture
def alice(client, api_settings) -> WebUser:  # noqa: F811
    return WebUser(client, new_token(api_settings, "alice"))


@pytest.fixture
def bob(client, api_settings) -> WebUser:  # noqa: F811
    return WebUser(client, new_token(api_settings, "bob"))


@pytest.fixture
def uploads(alice, bundled_benchmarks) -> tuple[dict, dict]:
    """Alice's uploaded model and property (the API's JSON of each)."""
    folder = bundled_benchmarks / "mlp"
    model = alice.api.upload_ok("models", folder / "onnx" / "tiny.onnx.gz")
    prop = alice.api.upload_ok("properties", folder / "vnnlib" / "tiny_unsat.vnnlib.gz")
    return model, prop


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium under Playwright (never a downloaded browser), or a skip saying why.
    One per module, not per session: Playwright's sync API keeps an event loop running in the
    thread while it is open, and a later module of the same process that starts one of its
    own (`asyncio.run`: the load test) would fail; under xdist any module can come later."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory) -> Dashboard:
    """One `certbound serve` and worker for all browser tests (fast service clocks, SQLite)."""
    root = tmp_path_factory.mktemp("dashboard")
    settings = sqlite_settings(root / "data")
    worker = WorkerProcess(settings, root / "worker.log").start()
    serve = ServeProcess(settings.data_dir, root / "serve.log", settings)
    try:
        serve.start()
        yield Dashboard(url=serve.base.removesuffix("/api/v1"), token=new_token(settings, "owner"), settings=settings)
    finally:
        serve.stop()
        worker.stop()


@pytest.fixture
def page(chromium, dashboard):
    """A page in a fresh browser context (no cookies) on the dashboard; it downloads files."""
    context = chromium.new_context(base_url=dashboard.url, accept_downloads=True)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        # Script errors and blocked resources (a Content-Security-Policy violation is one)
        # collect here, for the tests to assert there were none.
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
