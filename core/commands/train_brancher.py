"""`certbound train-brancher SHARD... --out FILE`: the learned brancher, trained on strong-branching shards."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def train_brancher(
    shards: list[Path] = typer.Argument(..., metavar="SHARD...", help="Shards of `certbound branching-data`."),
    out: Path = typer.Option(..., "--out", help="Write the brancher here (use it as --brancher in verify)."),
    epochs: int = typer.Option(6, "--epochs"),
    dim: int = typer.Option(32, "--dim", help="Width of the GNN's embeddings."),
    rounds: int = typer.Option(1, "--rounds", help="Message-passing rounds of the GNN."),
    smoothing: float = typer.Option(0.2, "--smoothing", help="Target smoothing ε (0: one-hot)."),
    pat: float = typer.Option(0.3, "--pat", help="Parent-as-target weight λ (0: off)."),
    threshold: float = typer.Option(0.1, "--threshold", help="Fail-safe relative improvement threshold."),
    validation_properties: int = typer.Option(2, "--validation-properties",
                                              help="Per network, properties that time each epoch's model (0: keep the last)."),
    validation_start: int = typer.Option(5000, "--validation-start", help="First training image of those."),
    validation_timeout: float = typer.Option(10.0, "--validation-timeout", help="Seconds per validation search."),
    data: Path | None = typer.Option(None, "--data", help="MNIST .npz for the validation properties."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads."),
) -> None:
    """Train the branching GNN to imitate strong branching, with the lookback terms (docs/branching.md)."""
    import torch
    from pydantic import ValidationError

    from core.bab.learned.config import TrainBrancherConfig
    from core.bab.learned.data import read_shard
    from core.bab.learned.fit import train_from_shards
    from core.commands.verify import fail, one_line

    try:
        config = TrainBrancherConfig(epochs=epochs, dim=dim, rounds=rounds, smoothing=smoothing, pat=pat,
                                     threshold=threshold, validation_properties=validation_properties,
                                     validation_start=validation_start,
                                     validation_timeout_s=validation_timeout, seed=seed)
    except ValidationError as exc:
        raise fail("options", "; ".join(f"--{e['loc'][0].replace('_', '-')}: {e['msg']}" for e in exc.errors())) from None
    loaded = []
    for path in shards:
        try:
            loaded.append(read_shard(path))
        except Exception as exc:  # noqa: BLE001 - any unreadable shard is the same user error
            raise fail(path, f"not a branching-data shard ({one_line(exc) or type(exc).__name__})") from None
    torch.set_num_threads(threads)
    try:
        data_bytes, history = train_from_shards(loaded, config, data, lambda e: typer.echo(json.dumps(e), err=True))
    except ValueError as exc:
        raise fail(shards[0], one_line(exc)) from None
    out.write_bytes(data_bytes)
    typer.echo(json.dumps({"out": str(out), "bytes": len(data_bytes), "history": history}))


def register(cli: typer.Typer) -> None:
    cli.command("train-brancher")(train_brancher)
