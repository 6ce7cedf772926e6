"""`certbound submit NET PROP`: verify on a certbound server instead of this machine."""

from __future__ import annotations

from pathlib import Path

import typer

from certbound.terminal import BAD_INPUT, SERVER_OPTION, connected, fail, job_exit, progress_line


def submit(
    network: Path = typer.Argument(..., metavar="NET", help="ONNX network (.onnx or .onnx.gz)."),
    prop: Path = typer.Argument(..., metavar="PROP", help="VNN-LIB property (.vnnlib or .vnnlib.gz)."),
    timeout: float = typer.Option(None, "--timeout", help="the job's time budget in seconds (default: the server's)"),
    wait: bool = typer.Option(False, "--wait", help="follow the job and print its outcome"),
    server: str = SERVER_OPTION,
) -> None:
    """Upload NET and PROP, queue a verify job and print its id; with --wait, print
    `JOB STATUS VERDICT ...` once it has finished (exit 1 when it failed)."""
    for path in (network, prop):
        if not path.is_file():
            raise fail(f"{path}: no such file", BAD_INPUT)
    with connected(server) as client:
        job_id = client.submit_files(network, prop, timeout_s=timeout)
        if not wait:
            typer.echo(job_id)
            return
        typer.echo(f"queued {job_id}", err=True)  # to come back to it should the wait be interrupted
        with progress_line() as show:
            job = client.wait(job_id, progress=show)
    typer.echo(job.summary())
    raise job_exit(job)


def register(cli: typer.Typer) -> None:
    cli.command("submit")(submit)
