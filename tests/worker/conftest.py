"""Worker fixtures: per backend, a real environment with one real worker subprocess."""

from __future__ import annotations

import pytest

from tests.service.support import (BACKENDS, UNDECIDABLE, Api, WorkerProcess, backend_settings, client_for, instance,
                                   new_token)

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
def undecidable(bundled_benchmarks):
    return instance(bundled_benchmarks, *UNDECIDABLE)
