"""Worker fixtures: per backend, a real environment with one real worker subprocess."""

from __future__ import annotations

import pytest

from tests.service.support import Api, WorkerProcess, client_for, instance, new_token, postgres_redis_settings, sqlite_settings

BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])]
# No tool in VNN-COMP decided this instance within 750 s: a job on it runs until stopped.
UNDECIDABLE = ("oval21", "cifar_deep_kw", "cifar_deep_kw-img5503-eps0.0473202614379085")


def backend_settings(request, data_dir, **overrides):
    """A context manager giving fresh settings for the requested backend."""
    from contextlib import nullcontext

    if request.param == "sqlite":
        return nullcontext(sqlite_settings(data_dir, **overrides))
    return postgres_redis_settings(data_dir, request.getfixturevalue("postgres_url"),
                                   request.getfixturevalue("redis_url"), **overrides)


@pytest.fixture(scope="session", params=BACKENDS)
def worker_settings(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"worker-{request.param}")
    with backend_settings(request, data_dir) as settings:
        worker = WorkerProcess(settings, data_dir / "worker.log").start()
        try:
            yield settings
        finally:
            worker.stop()


@pytest.fixture(scope="session")
def worker_client(worker_settings):
    with client_for(worker_settings) as client:
        yield client


@pytest.fixture
def wapi(worker_client, worker_settings) -> Api:
    return Api(worker_client, new_token(worker_settings))


@pytest.fixture
def undecidable(benchmarks_dir):
    return instance(benchmarks_dir, *UNDECIDABLE)
