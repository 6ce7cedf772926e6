"""`certbound download JOB`: fetch what backs a job's verdict, to check it here."""

from __future__ import annotations

from pathlib import Path

import typer

from certbound.terminal import BAD_INPUT, SERVER_OPTION, connected, fail


def download(
    job_id: str = typer.Argument(..., metavar="JOB", help="the id `certbound submit` printed"),
    out: Path = typer.Option(None, "--out", help="the file (or folder) to write (default: the server's file "
                             "name, here)"),
    server: str = SERVER_OPTION,
) -> None:
    """Write an unsat's certificate (zip) or a sat's counterexample (VNN-COMP result file)
    and print its path; check it with `certbound check NET PROP FILE`."""
    if out is not None and not (out.is_dir() or out.parent.is_dir()):
        raise fail(f"--out {out}: no folder {out.parent}", BAD_INPUT)
    with connected(server) as client:
        typer.echo(client.download(job_id, out))


def register(cli: typer.Typer) -> None:
    cli.command("download")(download)
