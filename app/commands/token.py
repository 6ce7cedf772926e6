"""`certbound token create|list|revoke`: the API tokens of one server's database.

The database is found exactly as `certbound serve` finds it (--data-dir, else
CERTBOUND_DATA_DIR / CERTBOUND_DATABASE_URL, else ./certbound-data), and a token command
never creates one: a token written to a database no server uses would be refused by
every server, silently. So a missing SQLite database is an error that says where it was
looked for, and every change says on stderr which database it went to.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import typer

token_cli = typer.Typer(no_args_is_help=True, help="Manage API tokens.")
DataDir = typer.Option(None, "--data-dir", help="the server's data directory "
                       "(default: $CERTBOUND_DATA_DIR or ./certbound-data; $CERTBOUND_DATABASE_URL wins)")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"(?:\d+[smhdw])+")


def fail(what: str) -> typer.Exit:
    """One line on stderr; the caller raises the returned exit (code 2: bad input)."""
    typer.echo(f"error: {what}", err=True)
    return typer.Exit(2)


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `1w2d`, `90m`, `45s` as a timedelta; ValueError naming the form otherwise."""
    compact = text.strip().lower()
    if not DURATION.fullmatch(compact):
        raise ValueError(f"{text!r} is not a duration such as 30d, 12h, 1w2d or 90m (units s, m, h, d, w)")
    try:
        span = sum((timedelta(**{UNITS[unit]: int(count)}) for count, unit in re.findall(r"(\d+)(\w)", compact)),
                   timedelta())
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any date can express") from None
    if span <= timedelta(0):
        raise ValueError(f"{text!r} is no time at all; give a positive duration")
    return span


def open_database(data_dir: Path | None):
    """The settings `serve` would use, with the schema brought up to date; exits with one
    line when the default SQLite database does not exist yet."""
    from sqlalchemy.engine import make_url

    from app.bootstrap import settings_for
    from app.db.migrate import upgrade

    settings = settings_for(data_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        raise fail(f"no certbound database at {url.database}: run `certbound serve` with this data directory "
                   "first (it creates the database and its owner token), or name the server's with --data-dir "
                   "or CERTBOUND_DATA_DIR / CERTBOUND_DATABASE_URL")
    upgrade(settings.database_url)
    return settings


def where(settings) -> str:
    """The database in words, without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    return url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


@token_cli.command("create")
def create(
    name: str = typer.Option(..., "--name", help="who or what the token is for"),
    expires_in: str = typer.Option(None, "--expires-in", help="lifetime such as 30d, 12h or 1w (default: never expires)"),
    data_dir: Path = DataDir,
) -> None:
    """Create a token and print it (it is stored hashed: this is the only time it is shown).
    Where it was stored goes to stderr, so stdout is the secret alone."""
    from app.auth import create_token
    from app.db.models import isoformat
    from app.db.session import session_scope

    if not name.strip():
        raise fail("--name: a token needs a non-empty name")
    try:
        lifetime = None if expires_in is None else parse_duration(expires_in)
    except ValueError as exc:
        raise fail(f"--expires-in: {exc}") from None
    settings = open_database(data_dir)
    with session_scope(settings.database_url) as session:
        try:
            token, secret = create_token(session, name, lifetime)
        except (ValueError, OverflowError) as exc:  # OverflowError: now + lifetime past year 9999
            raise fail(f"--expires-in: {exc}") from None
        expiry = f"expires {isoformat(token.expires_at)}" if token.expires_at else "never expires"
        typer.echo(f"token {token.id} {token.name!r} created in {where(settings)} ({expiry})", err=True)
    typer.echo(secret)


@token_cli.command("list")
def list_tokens(
    as_json: bool = typer.Option(False, "--json", help="one JSON object per token, for scripts"),
    data_dir: Path = DataDir,
) -> None:
    """Every token: id, name, when created, when it expires, whether it is still usable.
    Secrets are never shown (only their hashes are stored)."""
    import json

    from sqlalchemy import select

    from app.auth import token_status
    from app.db.models import Token, isoformat
    from app.db.session import session_scope

    settings = open_database(data_dir)
    with session_scope(settings.database_url) as session:
        rows = [{"id": t.id, "name": t.name, "created_at": isoformat(t.created_at), "expires_at": isoformat(t.expires_at),
                 "revoked_at": isoformat(t.revoked_at), "status": token_status(t)}
                for t in session.scalars(select(Token).order_by(Token.id))]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "name", "created (UTC)", "expires (UTC)", "status", caption=where(settings))
    for row in rows:
        status = row["status"] if row["status"] != "revoked" else f"revoked {_minute(row['revoked_at'])}"
        table.add_row(str(row["id"]), Text(row["name"]), _minute(row["created_at"]),
                      _minute(row["expires_at"]) or "never", status)
    Console().print(table)


def _minute(moment: str | None) -> str:
    """An ISO 8601 UTC time to the minute, for a table."""
    return "" if moment is None else moment[:16].replace("T", " ")


@token_cli.command("revoke")
def revoke(
    ref: str = typer.Argument(..., metavar="ID|NAME", help="the token's id or (unique) name, from `token list`"),
    data_dir: Path = DataDir,
) -> None:
    """Revoke a token at once: the API answers its requests with 401 and the dashboard signs
    it out. Its uploads and jobs stay (their owner is kept, but nobody can reach them)."""
    from app.auth import find_token, revoke_token, token_status
    from app.db.models import Token, isoformat
    from app.db.session import session_scope
    from sqlalchemy import select

    settings = open_database(data_dir)
    with session_scope(settings.database_url) as session:
        try:
            token = find_token(session, ref)
        except LookupError as exc:
            raise fail(str(exc)) from None
        if not revoke_token(token):
            typer.echo(f"token {token.id} {token.name!r} was already revoked at {isoformat(token.revoked_at)}")
            return
        session.flush()
        active = [t for t in session.scalars(select(Token)) if token_status(t) == "active"]
        typer.echo(f"token {token.id} {token.name!r} revoked in {where(settings)}")
    if not active:
        typer.echo("no usable token is left: create one with `certbound token create --name NAME`", err=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(token_cli, name="token")
