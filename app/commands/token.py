"""`certbound token create`: a new API token, which is its own owner."""

from __future__ import annotations

from pathlib import Path

import typer

token_cli = typer.Typer(no_args_is_help=True, help="Manage API tokens.")


@token_cli.command("create")
def create(
    name: str = typer.Option(..., "--name", help="who or what the token is for"),
    data_dir: Path = typer.Option(None, "--data-dir", help="[default: $CERTBOUND_DATA_DIR or ./certbound-data]"),
) -> None:
    """Create a token and print it (it is stored hashed: this is the only time it is shown)."""
    from app.auth import create_token
    from app.bootstrap import prepare, settings_for
    from app.db.session import session_scope

    settings = settings_for(data_dir)
    prepare(settings)
    try:
        with session_scope(settings.database_url) as session:
            _, secret = create_token(session, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--name") from exc
    typer.echo(secret)


def register(cli: typer.Typer) -> None:
    cli.add_typer(token_cli, name="token")
