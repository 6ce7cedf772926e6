"""Starting a worker process: queues, GPU pinning, liveness rows, then Celery's loop."""

from __future__ import annotations

import importlib
import logging
import os
import socket

from celery import signals
from sqlalchemy.exc import IntegrityError

from app.db.migrate import upgrade
from app.settings import get_settings
from worker.celery_app import configure, declare_queues
from worker.heartbeat import worker_heartbeat
from worker.lifeline import SERVE_PID_ENV, SLOT_ENV, hold_lock, lock_path, tie_to_parent
from worker.queues import cuda_problem, worker_queues
from worker.tasks import app

log = logging.getLogger(__name__)


def preload_engine() -> None:
    """Import the engine before Celery forks the pool process, which inherits it: else the
    process's first job pays the imports (about 1.5 s, measured on tllverifybench N=48),
    and a distributed job's sub-jobs start that much later than its parent."""
    for name in ("core.certificate", "core.model", "core.spec", "core.verifier.parallel"):
        importlib.import_module(name)


def run_worker(*, gpu: int | None = None, queues: list[str] | None = None) -> None:
    """Run one worker (prefork pool of one process, prefetch 1) until it is stopped;
    raises worker.queues.QueueChoiceError, before anything starts, for queues it cannot serve."""
    serve_pid = os.environ.pop(SERVE_PID_ENV, None)
    if serve_pid:
        tie_to_parent(int(serve_pid))
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    names = worker_queues(queues, gpu, cuda_problem())
    preload_engine()
    settings = get_settings()
    # Held (by this process and its pool) until the process tree is gone.
    slot = int(os.environ.pop(SLOT_ENV, "0"))
    lock = hold_lock(lock_path(settings.data_dir, slot)) if serve_pid else None
    if serve_pid and lock is None:
        raise SystemExit(f"another embedded worker still serves {settings.data_dir}; not starting a second one")
    upgrade(settings.database_url)
    configure(app, settings)
    try:
        declare_queues(app)
    except IntegrityError:
        # Another worker declared the same queue at the same moment: it exists now.
        log.info("queues already declared by another worker")
    name = f"certbound-{os.getpid()}@{socket.gethostname()}"
    beat = worker_heartbeat(settings.database_url, name, ",".join(names), settings.heartbeat_interval_s)
    signals.worker_ready.connect(lambda **_: beat.start(), weak=False)
    signals.worker_shutdown.connect(lambda **_: beat.stop(), weak=False)
    beat.tick()
    app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--prefetch-multiplier=1",
                     f"--queues={','.join(names)}", f"--hostname={name}", "--loglevel=INFO",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])
