"""Shared fixtures and the CI policy: in CI nothing may skip except GPU tests.

Benchmark instances come from two places. `bundled_benchmarks` are certbound's own, shipped
in the package (core/data/benchmarks), always there. `benchmarks_dir` is the VNN-COMP set,
which carries no licence and is never shipped: it is the `benchmarks` folder of
`$CERTBOUND_SHARED_DIR`, by default of `../shared` beside the repository, and tests that
need it skip, naming that setting, where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.data import BUNDLED_BENCHMARKS, BUNDLED_MNIST, SHARED_ENV

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get(SHARED_ENV) or REPO.parent / "shared")
BENCHMARKS = SHARED / "benchmarks"
FULL_MNIST = SHARED / "datasets" / "mnist.npz"
NO_BENCHMARKS = (f"VNN-COMP benchmarks not found at {BENCHMARKS}: set {SHARED_ENV} to the folder that holds "
                 "benchmarks/ (they are not shipped: they carry no licence)")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("gpu") is None and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip but GPU tests: {reason}"


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    """The VNN-COMP benchmarks (not shipped), or a skip naming the setting that finds them."""
    if not BENCHMARKS.is_dir():
        pytest.skip(NO_BENCHMARKS)
    return BENCHMARKS


@pytest.fixture(scope="session")
def bundled_benchmarks() -> Path:
    """certbound's own instances, shipped in the package (core/data/make_benchmarks.py)."""
    return BUNDLED_BENCHMARKS


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The full MNIST copy where there is one, else the subset shipped in the package."""
    return FULL_MNIST if FULL_MNIST.is_file() else BUNDLED_MNIST


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A SQLAlchemy URL of a real PostgreSQL server, or a skip saying why."""
    url = os.environ.get("CERTBOUND_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL of a real Redis server, or a skip saying why."""
    url = os.environ.get("CERTBOUND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    return url
