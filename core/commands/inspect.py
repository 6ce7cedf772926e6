"""`certbound inspect NET [PROP]`: what the engine sees in a network (and a property)."""

from __future__ import annotations

from pathlib import Path

import typer


def inspect(
    network: Path = typer.Argument(..., help="ONNX network (.onnx or .onnx.gz)."),
    prop: Path | None = typer.Argument(None, metavar="[PROP]", help="VNN-LIB property (.vnnlib or .vnnlib.gz)."),
) -> None:
    """Print operators, shapes and parameter count; with PROP, its boxes, disjuncts and constraints."""
    from rich.console import Console

    from core.commands.verify import one_line
    from core.model import load_network
    from core.model.summary import summarize_onnx

    console = Console()
    try:
        net = load_network(network)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {network}: {one_line(exc)}", err=True)
        raise typer.Exit(2) from None
    summary = summarize_onnx(net.onnx_bytes)
    console.print(f"[bold]{network}[/bold]  sha256 {net.sha256[:16]}…  opset {summary.opset}")
    console.print(f"input '{net.input_name}': ONNX shape {list(net.onnx_input_shape)}, "
                  f"per example {list(net.input_shape)}; output per example {list(net.output_shape)}")
    console.print(f"parameters: {summary.n_params:,}")
    console.print("ONNX operators: " + ", ".join(f"{op} x{n}" for op, n in sorted(summary.operators.items())))
    console.print(_graph_table(net.graph))
    if prop is not None:
        _print_property(console, prop, net.graph.input_size, net.graph.output_size)


def _graph_table(graph):
    from rich.table import Table

    table = Table("#", "node", "operator", "inputs", "shape per example", title="engine graph")
    for i, node in enumerate(graph.nodes):
        table.add_row(str(i), node.name, node.op.describe(), ", ".join(node.inputs), str(list(node.shape)))
    return table


def _print_property(console, path: Path, n_inputs: int, n_outputs: int) -> None:
    from core.commands.verify import one_line
    from core.spec import load_property

    try:
        prop = load_property(path)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {path}: {one_line(exc)}", err=True)
        raise typer.Exit(2) from None
    console.print(f"[bold]{path}[/bold]: {prop.n_inputs} inputs, {prop.n_outputs} outputs, "
                  f"{len(prop.regions)} box(es), {prop.n_disjuncts} unsafe disjunct(s)")
    for i, region in enumerate(prop.regions):
        widths = region.box.upper - region.box.lower
        sizes = ", ".join(str(len(c.d)) for c in region.unsafe)
        console.print(f"  box {i}: width min {widths.min():.4g} max {widths.max():.4g}; "
                      f"{len(region.unsafe)} disjunct(s) with constraints per disjunct: {sizes}")
    if (prop.n_inputs, prop.n_outputs) != (n_inputs, n_outputs):
        typer.echo(f"error: {path}: the property has {prop.n_inputs} inputs and {prop.n_outputs} outputs, "
                   f"the network {n_inputs} and {n_outputs}", err=True)
        raise typer.Exit(2)


def register(cli: typer.Typer) -> None:
    cli.command("inspect")(inspect)
