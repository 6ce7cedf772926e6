"""The service commands' settings (tokens: test_token_commands.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import Settings
from tests.conftest import REPO


def certbound(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120, env=env)


def test_worker_refuses_unknown_queues(tmp_path):
    result = certbound("worker", "--queues", "cpu,fast", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "unknown queue(s) fast" in result.stderr


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CERTBOUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CERTBOUND_MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.max_upload_bytes == 1234
    assert settings.database_url == f"sqlite:///{tmp_path / 'certbound.db'}"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    assert settings.visibility_timeout_s > settings.hard_time_limit(settings.max_timeout_s)


def test_the_soft_time_limit_leaves_the_certificate_check_its_time(monkeypatch, tmp_path):
    monkeypatch.setenv("CERTBOUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CERTBOUND_CHECK_TIME_FACTOR", "0.5")
    settings = Settings()
    assert settings.check_time_limit(100.0) == 50.0
    assert settings.soft_time_limit(100.0) == 150.0 + settings.soft_limit_grace_s
    assert settings.hard_time_limit(100.0) > settings.soft_time_limit(100.0)


def test_inconsistent_limits_are_refused(tmp_path):
    with pytest.raises(ValueError, match="max_timeout_s"):
        Settings(data_dir=tmp_path, default_timeout_s=100, max_timeout_s=10)
