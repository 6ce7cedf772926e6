"""`certbound bounds`: sound lower bounds on each constraint of a property's unsafe region."""

from __future__ import annotations

from pathlib import Path

import typer


def bounds(network: Path = typer.Argument(..., help="ONNX network (.onnx or .onnx.gz)"),
           prop: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property (.vnnlib or .vnnlib.gz)"),
           method: str = typer.Option("crown", "--method", help="ibp, crown, alpha, or an Anderson dual "
                                      "solver: big-m, active-set, saddle-point (ReLU chains only)"),
           as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Bound c_i·y − d_i from below for every constraint of every disjunct of the unsafe
    region; a disjunct is refuted (unreachable) when one of its lower bounds is > 0."""
    import json
    import time

    import torch

    from core.bounds.anderson import Unsupported
    from core.bounds.api import METHODS
    from core.bounds.property_bounds import bound_property
    from core.commands.verify import fail, load_instance

    if method not in METHODS:
        raise fail("--method", f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    net, spec = load_instance(network, prop)
    graph = net.graph.to(dtype=torch.float32)
    start = time.perf_counter()
    try:
        disjuncts = bound_property(graph, spec, method)
    except Unsupported as exc:
        raise fail("--method", f"{method} cannot bound this network: {exc}") from None
    elapsed = time.perf_counter() - start
    if as_json:
        typer.echo(json.dumps({"method": method, "time_s": elapsed,
                               "disjuncts": [{"lower": b.lower, "refuted": b.refuted} for b in disjuncts]}))
        return
    for k, b in enumerate(disjuncts):
        values = ", ".join(f"{v:.6g}" for v in b.lower)
        typer.echo(f"disjunct {k}: {'refuted' if b.refuted else 'open'}  lower [{values}]")
    typer.echo(f"{sum(b.refuted for b in disjuncts)}/{len(disjuncts)} disjuncts refuted by {method} "
               f"in {elapsed:.3f} s")


def register(cli: typer.Typer) -> None:
    cli.command("bounds")(bounds)
