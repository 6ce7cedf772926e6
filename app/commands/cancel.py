"""`certbound cancel JOB`: stop a job on the server."""

from __future__ import annotations

import typer

from certbound.terminal import SERVER_OPTION, connected


def cancel(
    job_id: str = typer.Argument(..., metavar="JOB", help="the id `certbound submit` printed"),
    server: str = SERVER_OPTION,
) -> None:
    """Cancel a queued job at once, a running one within seconds; print its line. A
    finished job cannot be cancelled (exit 2)."""
    with connected(server) as client:
        typer.echo(client.cancel(job_id).summary())


def register(cli: typer.Typer) -> None:
    cli.command("cancel")(cancel)
