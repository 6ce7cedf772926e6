"""`certbound worker`: one Celery worker process (one per GPU when scaled out)."""

from __future__ import annotations

from pathlib import Path

import typer


def worker(
    gpu: int = typer.Option(None, "--gpu", min=0, help="the GPU this worker owns (sets CUDA_VISIBLE_DEVICES); "
                            "refused where torch cannot use it"),
    queues: str = typer.Option(None, "--queues", help="comma-separated queues (default: gpu,cpu where torch "
                               "sees a CUDA device, else cpu); gpu is refused without one"),
    data_dir: Path = typer.Option(None, "--data-dir", help="(default: $CERTBOUND_DATA_DIR or ./certbound-data)"),
) -> None:
    """Consume jobs until stopped. Queues it cannot serve are one line on stderr and exit 2."""
    from app.bootstrap import settings_for
    from worker.main import run_worker
    from worker.queues import QueueChoiceError, parse_queues

    try:
        names = parse_queues(queues)
        settings_for(data_dir)
        run_worker(gpu=gpu, queues=names)
    except QueueChoiceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(cli: typer.Typer) -> None:
    cli.command("worker")(worker)
