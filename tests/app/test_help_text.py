"""Help texts survive rich: typer renders help as rich markup, where `[word...]` is a style
tag and vanishes (`[default: ...]` was printed as nothing)."""

from __future__ import annotations

import click
import typer
from rich.markup import render

from app.cli import cli


def every_help() -> list[tuple[str, str]]:
    group = typer.main.get_command(cli)
    found = []
    for name, command in group.commands.items():
        found.append((name, command.help or ""))
        found += [(f"{name} {param.name}", getattr(param, "help", None) or "") for param in command.params]
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                found.append((f"{name} {sub_name}", sub.help or ""))
                found += [(f"{name} {sub_name} {param.name}", getattr(param, "help", None) or "") for param in sub.params]
    return found


def test_every_help_text_prints_as_written():
    helps = every_help()
    assert len(helps) > 50  # every command was found, with its options
    assert [(where, text) for where, text in helps if render(text).plain != text] == []
    assert render("where [default: ./data]").plain == "where "  # what the check guards against
