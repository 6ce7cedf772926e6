"""`certbound worker`: one Celery worker process (one per GPU when scaled out)."""

from __future__ import annotations

from pathlib import Path

import typer


def worker(
    gpu: int = typer.Option(None, "--gpu", help="the GPU this worker owns (sets CUDA_VISIBLE_DEVICES)"),
    queues: str = typer.Option(None, "--queues", help="comma-separated queues [default: gpu,cpu with --gpu, else cpu]"),
    data_dir: Path = typer.Option(None, "--data-dir", help="[default: $CERTBOUND_DATA_DIR or ./certbound-data]"),
) -> None:
    """Consume jobs until stopped."""
    from app.bootstrap import settings_for
    from worker.main import parse_queues, run_worker

    try:
        names = parse_queues(queues, gpu)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queues") from exc
    settings_for(data_dir)
    run_worker(gpu=gpu, queues=",".join(names))


def register(cli: typer.Typer) -> None:
    cli.command("worker")(worker)
