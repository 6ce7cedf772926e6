"""`certbound serve`: the API, plus one worker subprocess on the embedded default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

# How often the embedded worker is checked, and restarted if it died.
WORKER_CHECK_S = 2.0


class EmbeddedWorker:
    """`python -m worker` as a child process, restarted whenever it exits."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        if self.process is not None:
            self.restarts += 1
            typer.echo(f"worker exited with {self.process.returncode}; starting another (restart {self.restarts})", err=True)
        self.process = subprocess.Popen([sys.executable, "-m", "worker", "--queues", "gpu,cpu"])

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # Celery's warm shutdown: the running job may finish
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()  # its job is re-queued by the reaper after the next start


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
    from app.periodic import Ticker
    from worker.celery_app import declare_queues, make_celery

    settings = settings_for(data_dir)
    prepare(settings)
    secret = ensure_owner_token(settings)
    if secret is not None:
        typer.echo(f"owner token (shown once, also in {settings.token_file}): {secret}")
    embedded, supervisor = EmbeddedWorker(), None
    if worker:
        declare_queues(make_celery(settings))
        embedded.ensure_running()
        supervisor = Ticker(WORKER_CHECK_S, embedded.ensure_running, "worker-supervisor")
        supervisor.start()
    try:
        typer.echo(f"certbound API on http://{host}:{port}/docs (data in {settings.data_dir})")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        if supervisor is not None:
            supervisor.stop()
        embedded.stop()


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
