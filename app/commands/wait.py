"""`certbound wait JOB`: block until a job on the server has finished."""

from __future__ import annotations

import typer

from certbound.terminal import SERVER_OPTION, connected, job_exit, progress_line


def wait(
    job_id: str = typer.Argument(..., metavar="JOB", help="the id `certbound submit` printed"),
    timeout: float = typer.Option(None, "--timeout", min=0.0, help="give up waiting after this many seconds "
                                  "(exit 3; the job goes on)"),
    server: str = SERVER_OPTION,
) -> None:
    """Print the finished job's line; exit 0 when it succeeded (any verdict), 1 when it
    failed or was cancelled, 3 when --timeout passed first."""
    with connected(server) as client, progress_line() as show:
        job = client.wait(job_id, timeout_s=timeout, progress=show)
    typer.echo(job.summary())
    raise job_exit(job)


def register(cli: typer.Typer) -> None:
    cli.command("wait")(wait)
