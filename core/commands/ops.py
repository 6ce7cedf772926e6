"""`certbound ops`: the table of supported ONNX operators."""

from __future__ import annotations

import inspect

import typer


def summary(cls: type) -> str:
    """The first paragraph of a class's docstring, on one line ("" without one)."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split())


def ops() -> None:
    """Print every supported ONNX operator and the class that implements it."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from core.model.registry import OPERATORS, operator_class

    table = Table("ONNX op", "class", "what it is")
    for op_type in sorted(OPERATORS):
        cls = operator_class(op_type)
        # Text, not a markup string: docstrings hold shapes such as [batch, C_in, *spatial].
        table.add_row(Text(op_type), Text(f"{cls.__module__}.{cls.__name__}"), Text(summary(cls)))
    Console().print(table)


def register(cli: typer.Typer) -> None:
    cli.command("ops")(ops)
