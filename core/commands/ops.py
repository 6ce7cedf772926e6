"""`certbound ops`: the table of supported ONNX operators."""

from __future__ import annotations

import typer


def ops() -> None:
    """Print every supported ONNX operator and the class that implements it."""
    from rich.console import Console
    from rich.table import Table

    from core.model.registry import OPERATORS, operator_class

    table = Table("ONNX op", "class", "what it is")
    for op_type in sorted(OPERATORS):
        cls = operator_class(op_type)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        table.add_row(op_type, f"{cls.__module__}.{cls.__name__}", doc)
    Console().print(table)


def register(cli: typer.Typer) -> None:
    cli.command("ops")(ops)
