"""`certbound branching-data NET --out SHARD`: strong-branching decisions logged for learned branching."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def branching_data(
    network: Path = typer.Argument(..., metavar="NET", help="ONNX network (.onnx or .onnx.gz) with MNIST inputs."),
    out: Path = typer.Option(..., "--out", help="Write the shard here (gzip-compressed torch file, .pt.gz)."),
    eps: float = typer.Option(0.06, "--eps", help="L-infinity radius of the properties."),
    properties: int = typer.Option(8, "--properties", help="Properties, from correctly classified training images."),
    start: int = typer.Option(0, "--start", help="First training image index."),
    per_layer: int = typer.Option(16, "--per-layer", help="Candidates per layer bounded by strong branching."),
    max_domains: int = typer.Option(300, "--max-domains", help="Domains each search may visit."),
    search_timeout: float = typer.Option(20.0, "--search-timeout", help="Seconds each search may take."),
    data: Path | None = typer.Option(None, "--data", help="MNIST .npz (default: $CERTBOUND_SHARED_DIR's, else the "
                                     "subset in the package)."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads."),
) -> None:
    """Run strong branching on robustness properties of NET and log every decision (docs/branching.md)."""
    import torch
    from pydantic import ValidationError

    from core.bab.learned.config import BranchingDataConfig
    from core.bab.learned.data import shard_summary, write_shard
    from core.bab.learned.fit import branching_data as run
    from core.commands.verify import fail, one_line
    from core.model import load_network

    try:
        config = BranchingDataConfig(eps=eps, properties=properties, start=start, per_layer=per_layer,
                                     max_domains=max_domains, search_timeout_s=search_timeout)
    except ValidationError as exc:
        raise fail("options", "; ".join(f"--{e['loc'][0].replace('_', '-')}: {e['msg']}" for e in exc.errors())) from None
    if not network.is_file():
        raise fail(network, "no such file")
    try:
        loaded = load_network(network)
    except (OSError, ValueError) as exc:
        raise fail(network, one_line(exc)) from None
    torch.set_num_threads(threads)
    try:
        shard = run(loaded, config, data, lambda name, s: typer.echo(
            f"{name}: {s['status']} visited={s['visited']} logged={len(s['records'])}", err=True))
    except (OSError, ValueError, KeyError) as exc:
        raise fail(data or network, one_line(exc)) from None
    size = write_shard(shard, out)
    typer.echo(json.dumps({"out": str(out), "bytes": size, **shard_summary(shard)}))


def register(cli: typer.Typer) -> None:
    cli.command("branching-data")(branching_data)
