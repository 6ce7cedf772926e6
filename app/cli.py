"""The `certbound` command line.

Commands are discovered: every module in `core.commands` (engine: verify, bounds,
inspect, ...) and `app.commands` (service: serve, worker, token, ...) defines
`register(cli)`. Command modules import torch inside their functions, never at import
time, so `certbound --help` and the service commands start fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import app.commands
import core.commands

cli = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="certbound: neural-network verification with certificates.")


@cli.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    """certbound: neural-network verification with certificates."""
    if version:
        from importlib.metadata import version as installed_version

        typer.echo(installed_version("certbound"))
        raise typer.Exit()


def _register_all() -> None:
    for package in (core.commands, app.commands):
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            module.register(cli)


_register_all()


def main() -> None:
    cli()
