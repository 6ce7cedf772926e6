"""A worker's pool process dies with the worker main process, even when only the main
process is SIGKILLed mid-job (an orphaned pool child would keep running its job unseen).
Celery's prefork pool does this itself (PR_SET_PDEATHSIG); this guards that we keep it."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from tests.service.proctree import gone_after, tree, wait_for
from tests.service.support import Api, WorkerProcess, client_for, new_token, sqlite_settings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


def test_the_pool_dies_with_the_worker_main_process_mid_job(tmp_path, undecidable):
    settings = sqlite_settings(tmp_path)
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        with client_for(settings) as client:
            api = Api(client, new_token(settings))
            model, prop = api.upload_ok("models", undecidable[0]), api.upload_ok("properties", undecidable[1])
            api.wait(api.submit(model, prop, timeout_s=300), until=("running",), timeout=60)
        pool = wait_for(lambda: tree(worker.process.pid) - {worker.process.pid}, 10, "no pool process")
        os.kill(worker.process.pid, signal.SIGKILL)  # the main process alone, not its group
        seconds = gone_after(pool, timeout=5)
    finally:
        worker.stop()
    print(f"pool process (running a job) gone {seconds:.2f} s after SIGKILL of the worker main process")
