"""Migration 0003 (token expiry and revocation) on a database that already has tokens:
they stay valid across the upgrade, and the downgrade keeps them. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from app.auth import authenticate, hash_token
from app.db.migrate import downgrade, upgrade
from app.db.session import get_engine, session_scope
from tests.service.support import postgres_redis_settings


def columns(url: str) -> set[str]:
    return {column["name"] for column in inspect(get_engine(url)).get_columns("tokens")}


def check_tokens_survive(url: str) -> None:
    upgrade(url, "0002")
    assert not {"expires_at", "revoked_at"} & columns(url)
    with get_engine(url).begin() as connection:
        connection.execute(text("INSERT INTO tokens (name, token_hash, created_at) VALUES ('old', :h, '2026-01-01')"),
                           {"h": hash_token("cb_old")})
    upgrade(url)
    assert {"expires_at", "revoked_at"} <= columns(url)
    with session_scope(url) as session:
        token = authenticate(session, "cb_old")
        assert (token.name, token.expires_at, token.revoked_at) == ("old", None, None)
    downgrade(url, "0002")
    assert not {"expires_at", "revoked_at"} & columns(url)
    with get_engine(url).connect() as connection:
        assert connection.execute(text("SELECT name FROM tokens")).scalars().all() == ["old"]
    upgrade(url)


def test_sqlite(tmp_path):
    check_tokens_survive(f"sqlite:///{tmp_path / 'tokens.db'}")


@pytest.mark.postgres
def test_postgresql(tmp_path, postgres_url, redis_url):
    with postgres_redis_settings(tmp_path, postgres_url, redis_url) as settings:
        downgrade(settings.database_url)
        check_tokens_survive(settings.database_url)
