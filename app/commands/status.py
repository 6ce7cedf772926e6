"""`certbound status JOB`: where a job on the server stands."""

from __future__ import annotations

import json

import typer

from certbound.terminal import SERVER_OPTION, connected


def status(
    job_id: str = typer.Argument(..., metavar="JOB", help="the id `certbound submit` printed"),
    as_json: bool = typer.Option(False, "--json", help="print the whole job as the API gives it"),
    server: str = SERVER_OPTION,
) -> None:
    """Print `JOB STATUS [VERDICT] phase=... domains=... bound=... TIME`, or the job as JSON."""
    with connected(server) as client:
        job = client.status(job_id)
    typer.echo(json.dumps(job.model_dump(), indent=2) if as_json else job.summary())


def register(cli: typer.Typer) -> None:
    cli.command("status")(status)
