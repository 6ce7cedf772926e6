"""`certbound token create|list|revoke` as real processes: they find the database as
`serve` does, never create one, and what they do takes effect on a running server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.commands.token import parse_duration, where
from app.settings import Settings
from app.db.models import Token
from app.db.session import session_scope
from tests.conftest import REPO
from tests.service.support import (BACKENDS, ServeProcess, backend_settings, environment, inherited_environment,
                                   sqlite_settings)

CERTBOUND = str(Path(sys.executable).parent / "certbound")


def certbound(*args, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([CERTBOUND, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def bare_env() -> dict[str, str]:
    """This environment without any CERTBOUND_ setting: the defaults decide."""
    return inherited_environment()


def token_count(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(Token))


@pytest.fixture(params=BACKENDS)
def served(request, tmp_path):
    """A running `certbound serve` (no worker) and the environment it was started with."""
    with backend_settings(request, tmp_path / "data") as settings:
        serve = ServeProcess(settings.data_dir, tmp_path / "serve.log", settings).start(need_worker=False)
        try:
            yield serve, settings
        finally:
            serve.stop()


def test_a_token_made_beside_a_running_server_works_there_until_revoked(served, tmp_path):
    serve, settings = served
    env = environment(settings)
    made = certbound("token", "create", "--name", "ci", "--expires-in", "30d", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n" and secret.startswith("cb_")  # stdout is the secret alone
    assert f"'ci' created in {where(settings)} (expires 20" in made.stderr
    with httpx.Client(base_url=serve.base, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as client:
        assert client.get("/jobs").status_code == 200
        listed = certbound("token", "list", "--json", env=env, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        ci = next(row for row in rows if row["name"] == "ci")
        assert ci["status"] == "active" and ci["expires_at"] is not None and ci["revoked_at"] is None
        assert secret not in listed.stdout and "hash" not in listed.stdout
        revoked = certbound("token", "revoke", "ci", env=env, cwd=tmp_path)
        assert revoked.returncode == 0 and f"token {ci['id']} 'ci' revoked in " in revoked.stdout, revoked.stderr
        refused = client.get("/jobs")
        assert refused.status_code == 401 and refused.json()["detail"].startswith("token 'ci' was revoked at ")


def test_without_a_database_nothing_is_created_and_the_line_says_where_it_looked(tmp_path):
    for args in (["token", "create", "--name", "ci"], ["token", "list"], ["token", "revoke", "1"]):
        run = certbound(*args, env=bare_env(), cwd=tmp_path)
        assert run.returncode == 2 and run.stdout == "", run.stdout + run.stderr
        assert run.stderr.count("\n") == 1
        assert run.stderr.startswith(f"error: no certbound database at {tmp_path / 'certbound-data' / 'certbound.db'}: "
                                     "run `certbound serve` with this data directory first")
    elsewhere = certbound("token", "create", "--name", "ci", "--data-dir", tmp_path / "typo", env=bare_env(), cwd=tmp_path)
    assert elsewhere.returncode == 2 and str(tmp_path / "typo" / "certbound.db") in elsewhere.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_relative_data_dir_is_read_as_serve_reads_it(tmp_path):
    settings = sqlite_settings(tmp_path / "data")  # what `certbound serve --data-dir data` made here
    run = certbound("token", "create", "--name", "laptop", "--data-dir", "data", env=bare_env(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"created in {tmp_path / 'data' / 'certbound.db'} (never expires)" in run.stderr
    assert token_count(settings) == 1


def test_list_shows_every_token_and_its_state_never_a_secret(tmp_path):
    settings = sqlite_settings(tmp_path / "data")
    secrets = [certbound("token", "create", "--name", name, "--data-dir", settings.data_dir, *extra, env=bare_env()).stdout.strip()
               for name, extra in [("owner", []), ("[bold]ci[/bold]", ["--expires-in", "1w2d"]), ("gone", [])]]
    assert certbound("token", "revoke", "3", "--data-dir", settings.data_dir, env=bare_env()).returncode == 0
    env = {**bare_env(), "COLUMNS": "200"}
    table = certbound("token", "list", "--data-dir", settings.data_dir, env=env)
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert [line.split("│")[2].strip() for line in lines] == ["owner", "[bold]ci[/bold]", "gone"]  # names verbatim
    assert [line.split("│")[5].strip().split(" ")[0] for line in lines] == ["active", "active", "revoked"]
    assert lines[0].split("│")[4].strip() == "never" and lines[1].split("│")[4].strip().startswith("20")
    assert not any(secret in table.stdout for secret in secrets)


def test_revoke_names_the_problem(tmp_path):
    settings = sqlite_settings(tmp_path / "data")
    for name in ("ci", "ci", "solo"):
        certbound("token", "create", "--name", name, "--data-dir", settings.data_dir, env=bare_env())
    ambiguous = certbound("token", "revoke", "ci", "--data-dir", settings.data_dir, env=bare_env())
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == "error: 2 tokens are named 'ci' (ids 1, 2); give the id\n"
    unknown = certbound("token", "revoke", "nobody", "--data-dir", settings.data_dir, env=bare_env())
    assert unknown.returncode == 2 and "no token has the id or name 'nobody'" in unknown.stderr
    assert certbound("token", "revoke", "solo", "--data-dir", settings.data_dir, env=bare_env()).returncode == 0
    again = certbound("token", "revoke", "3", "--data-dir", settings.data_dir, env=bare_env())
    assert again.returncode == 0 and "token 3 'solo' was already revoked at " in again.stdout
    for token_id in ("1", "2"):
        last = certbound("token", "revoke", token_id, "--data-dir", settings.data_dir, env=bare_env())
    assert "no usable token is left" in last.stderr


@pytest.mark.parametrize("value, problem", [("30", "is not a duration"), ("0d", "no time at all"),
                                            ("99999999999d", "longer than any date"), ("-1d", "is not a duration")])
def test_a_bad_lifetime_is_one_line_and_creates_nothing(tmp_path, value, problem):
    settings = sqlite_settings(tmp_path / "data")
    run = certbound("token", "create", "--name", "ci", "--expires-in", value, "--data-dir", settings.data_dir,
                    env=bare_env())
    assert run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1
    assert run.stderr.startswith("error: --expires-in: ") and problem in run.stderr
    assert token_count(settings) == 0


def test_a_blank_name_is_refused(tmp_path):
    settings = sqlite_settings(tmp_path / "data")
    run = certbound("token", "create", "--name", "  ", "--data-dir", settings.data_dir, env=bare_env())
    assert run.returncode == 2 and run.stderr == "error: --name: a token needs a non-empty name\n"
    assert token_count(settings) == 0


def test_durations():
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration(" 1W2d ") == timedelta(days=9)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1h30m15s") == timedelta(hours=1, minutes=30, seconds=15)
    for bad in ("", "d", "1.5d", "1y", "1 d"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_the_database_is_named_without_its_password(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://certbound:hunter2@db:5432/certbound")
    assert where(settings) == "postgresql+psycopg://certbound:***@db:5432/certbound"
    assert where(Settings(data_dir=tmp_path)) == str(tmp_path.resolve() / "certbound.db")
