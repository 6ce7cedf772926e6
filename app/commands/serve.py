"""`certbound serve`: the API, plus one worker subprocess on the embedded default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer


def serve(
    data_dir: Path = typer.Option(None, "--data-dir", help="where the database, broker and artifacts live "
                                  "[default: $CERTBOUND_DATA_DIR or ./certbound-data]"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="also run one worker subprocess"),
) -> None:
    """Run the API (and, unless --no-worker, one worker) until interrupted."""
    import uvicorn

    from app.bootstrap import ensure_owner_token, prepare, settings_for
    from app.main import create_app
    from worker.celery_app import declare_queues, make_celery

    settings = settings_for(data_dir)
    prepare(settings)
    secret = ensure_owner_token(settings)
    if secret is not None:
        typer.echo(f"owner token (shown once, also in {settings.token_file}): {secret}")
    process = None
    if worker:
        declare_queues(make_celery(settings))
        process = subprocess.Popen([sys.executable, "-m", "worker", "--queues", "gpu,cpu"])
    try:
        typer.echo(f"certbound API on http://{host}:{port}/docs (data in {settings.data_dir})")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
