"""API fixtures: one environment per backend (SQLite; PostgreSQL + Redis), no worker.

Tests isolate themselves by creating their own owners (tokens)."""

from __future__ import annotations

import pytest

from tests.service.support import BACKENDS, Api, backend_settings, client_for, new_token


@pytest.fixture(scope="session", params=BACKENDS)
def api_settings(request, tmp_path_factory):
    with backend_settings(request, tmp_path_factory.mktemp(f"api-{request.param}"), max_upload_bytes=2_000_000) as settings:
        yield settings


@pytest.fixture(scope="session")
def client(api_settings):
    with client_for(api_settings) as client:
        yield client


@pytest.fixture
def api(client, api_settings) -> Api:
    return Api(client, new_token(api_settings, "alice"))


@pytest.fixture
def other_api(client, api_settings) -> Api:
    return Api(client, new_token(api_settings, "bob"))
