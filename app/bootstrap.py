"""Start-up steps shared by the `serve`, `worker` and `token` commands."""

from __future__ import annotations

import os
from pathlib import Path

from app.auth import create_token, has_tokens
from app.db.migrate import upgrade
from app.db.session import session_scope
from app.settings import Settings, get_settings


def settings_for(data_dir: Path | None) -> Settings:
    """The environment's settings, with `--data-dir` (when given) taking precedence; the
    choice is exported so that worker subprocesses see the same data directory."""
    if data_dir is not None:
        os.environ["CERTBOUND_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    get_settings.cache_clear()
    settings = get_settings()
    os.environ["CERTBOUND_DATA_DIR"] = str(settings.data_dir)
    return settings


def prepare(settings: Settings) -> None:
    """Create the data directory and bring the database schema up to date."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)


def ensure_owner_token(settings: Settings) -> str | None:
    """On a database without tokens, create the owner's token, write it to
    `<data-dir>/token` (mode 600) and return it; None when tokens already exist."""
    with session_scope(settings.database_url) as session:
        if has_tokens(session):
            return None
        _, secret = create_token(session, "owner")
    write_private(settings.token_file, secret + "\n")
    return secret


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temp, path)
