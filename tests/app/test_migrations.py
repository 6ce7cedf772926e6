"""Alembic builds the schema from empty, and it matches the ORM models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db.migrate import downgrade, upgrade
from app.db.models import Base
from app.db.session import get_engine
from tests.conftest import REPO
from tests.service.support import postgres_redis_settings


def differences(url: str) -> list:
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def check_round_trip(url: str) -> None:
    upgrade(url)
    assert differences(url) == []
    assert set(Base.metadata.tables) <= set(inspect(get_engine(url)).get_table_names())
    downgrade(url)
    assert set(inspect(get_engine(url)).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert differences(url) == []


def test_sqlite_from_empty(tmp_path):
    check_round_trip(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_postgresql_from_empty(tmp_path, postgres_url, redis_url):
    with postgres_redis_settings(tmp_path, postgres_url, redis_url) as settings:
        check_round_trip(settings.database_url)


def test_alembic_command_line_reads_the_database_url_from_the_environment(tmp_path):
    # What the compose file's migrate step runs.
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "CERTBOUND_DATABASE_URL": url}
    result = subprocess.run([str(Path(sys.executable).parent / "alembic"), "upgrade", "head"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert differences(url) == []


@pytest.mark.postgres
def test_postgresql_upgrades_started_together_all_succeed(tmp_path, postgres_url, redis_url):
    # serve and its workers each upgrade at start; on a fresh database they raced to
    # create alembic_version and one of them exited.
    with postgres_redis_settings(tmp_path, postgres_url, redis_url) as settings:
        url = settings.database_url
        downgrade(url)
        with get_engine(url).begin() as connection:
            connection.exec_driver_sql("DROP TABLE alembic_version")
        code = f"from app.db.migrate import upgrade; upgrade({url!r})"
        runs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
        errors = [run.communicate(timeout=120)[1] for run in runs]
        assert [run.returncode for run in runs] == [0] * 4, errors
        assert differences(url) == []
