"""`certbound serve`: the API, plus worker subprocesses (one by default) on the embedded default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Callable

import typer

from worker.lifeline import SERVE_PID_ENV, SLOT_ENV, lock_holder, lock_path

# How often the embedded worker is checked, and restarted if it died.
WORKER_CHECK_S = 2.0


class EmbeddedWorker:
    """`python -m worker` as a child process, restarted whenever it exits.

    The worker is in serve's process group (a terminal's Ctrl-C reaches both) and gets
    serve's PID, so it SIGKILLs itself, pool included, when serve dies (worker.lifeline).
    It holds a lock under the data directory: while an earlier worker still holds it,
    none is started."""

    def __init__(self, lock: Path, slot: int = 0) -> None:
        self.slot = slot
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.lock = lock
        self.waiting_for: str | None = None
        self.stopping = False
        self.mutex = threading.Lock()

    def ensure_running(self) -> None:
        with self.mutex:
            if self.stopping or (self.process is not None and self.process.poll() is None):
                return
            holder = lock_holder(self.lock)
            if holder is not None:
                if holder != self.waiting_for:
                    typer.echo(f"a worker (pid {holder}) still serves this data directory ({self.lock} is locked); "
                               "not starting another until it exits", err=True)
                self.waiting_for = holder
                return
            self.waiting_for = None
            if self.process is not None:
                self.restarts += 1
                typer.echo(f"worker exited with {self.process.returncode}; starting another (restart {self.restarts})", err=True)
            env = {**os.environ, SERVE_PID_ENV: str(os.getpid()), SLOT_ENV: str(self.slot)}
            # The worker's default queues: gpu as well only where torch sees a CUDA device.
            self.process = subprocess.Popen([sys.executable, "-m", "worker"], env=env)

    def forward(self, sig: int = signal.SIGTERM) -> None:
        """Pass serve's stop signal on at once (Celery's warm shutdown: the running job may
        finish), and start no other worker from now on."""
        with self.mutex:
            if not self.stopping and self.process is not None and self.process.poll() is None:
                self.process.send_signal(sig)
            self.stopping = True

    def stop(self) -> None:
        self.forward()
        if self.process is None:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()  # its pool dies with it; its job is re-queued by the reaper
            self.process.wait()


def _run_api(app: object, sockets: list[socket.socket], on_exit: Callable[[], None]) -> None:
    """uvicorn on sockets already listening, calling `on_exit` as soon as serve is asked
    to stop (not only once uvicorn has finished its own graceful shutdown)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, log_level="warning")).run(sockets=sockets)


def _exit_on_sigterm(sig: int, _frame: FrameType | None) -> None:
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default
    # action that would end serve before it stops its worker.
    raise SystemExit(128 + sig)


def serve(
    data_dir: Path = typer.Option(None, "--data-dir", help="where the database, broker and artifacts live "
                                  "(default: $CERTBOUND_DATA_DIR or ./certbound-data)"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free one)"),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="also run worker subprocesses"),
    workers: int = typer.Option(1, "--workers", min=1, help="how many worker subprocesses (each runs one job at "
                                "a time; a verify job with `parallel` spreads over them)"),
) -> None:
    """Run the API and the dashboard (and, unless --no-worker, `--workers` workers) until interrupted.
    A port that cannot be listened on is one line on stderr and exit 2, before anything starts."""
    from app.bootstrap import ensure_owner_token, prepare, settings_for
    from app.listen import PortUnavailable, base_url, listen
    from app.main import create_app
    from app.periodic import Ticker
    from worker.celery_app import declare_queues, make_celery

    try:
        sockets = listen(host, port)
    except PortUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    url = base_url(host, sockets[0].getsockname()[1])
    settings = settings_for(data_dir)
    prepare(settings)
    secret = ensure_owner_token(settings)
    if secret is not None:
        typer.echo(f"owner token (shown once, also in {settings.token_file}): {secret}")
    embedded = [EmbeddedWorker(lock_path(settings.data_dir, slot), slot) for slot in range(workers if worker else 0)]
    supervisor = None
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if worker:
            declare_queues(make_celery(settings))
            for one in embedded:
                one.ensure_running()
            supervisor = Ticker(WORKER_CHECK_S, lambda: [one.ensure_running() for one in embedded], "worker-supervisor")
            supervisor.start()
        typer.echo(f"certbound dashboard: {url}/  API docs: {url}/docs  (data in {settings.data_dir})")
        _run_api(create_app(settings), sockets, lambda: [one.forward() for one in embedded])
    finally:
        for sock in sockets:
            sock.close()
        # The workers first: a worker started by the supervisor thread gets its
        # PR_SET_PDEATHSIG when that thread ends, which must not happen before.
        for one in embedded:
            one.stop()
        if supervisor is not None:
            supervisor.stop()


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
