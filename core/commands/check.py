"""`certbound check NET PROP CERT`: run the independent checker on a certificate."""

from __future__ import annotations

from pathlib import Path

import typer


def check(
    network: Path = typer.Argument(..., help="ONNX network (.onnx or .onnx.gz)."),
    prop: Path = typer.Argument(..., metavar="PROP", help="VNN-LIB property (.vnnlib or .vnnlib.gz)."),
    certificate: Path = typer.Argument(..., metavar="CERT", help="Certificate file written by the verifier."),
    timeout: float = typer.Option(None, "--timeout", min=0.0, help="Stop after this many seconds (exit 3)."),
) -> None:
    """Print `valid` (exit 0) or `invalid: <first reason>` (exit 1; unreadable files are
    reasons too); exit 2 when a file does not exist; `stopped: ...` (exit 3) when the check
    ran past --timeout without deciding."""
    from core.certificate import check as run_check

    missing = [path for path in (network, prop, certificate) if not path.is_file()]
    if missing:
        typer.echo(f"error: {missing[0]}: no such file", err=True)
        raise typer.Exit(2)
    result = run_check(network, prop, certificate, time_limit_s=timeout)
    typer.echo(f"{result} ({result.leaves} leaves, {result.time_s:.3f}s)")
    raise typer.Exit(0 if result.valid else 3 if result.stopped else 1)


def register(cli: typer.Typer) -> None:
    cli.command("check")(check)
