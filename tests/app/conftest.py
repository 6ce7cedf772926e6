"""API fixtures: one environment per backend (SQLite; PostgreSQL + Redis), no worker.

Tests isolate themselves by creating their own owners (tokens)."""

from __future__ import annotations

import pytest

from tests.service.support import Api, client_for, new_token, postgres_redis_settings, sqlite_settings


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def api_settings(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"api-{request.param}")
    if request.param == "sqlite":
        yield sqlite_settings(data_dir, max_upload_bytes=2_000_000)
        return
    postgres_url, redis_url = request.getfixturevalue("postgres_url"), request.getfixturevalue("redis_url")
    with postgres_redis_settings(data_dir, postgres_url, redis_url, max_upload_bytes=2_000_000) as settings:
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
