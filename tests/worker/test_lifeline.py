"""A worker's pool process dies with the worker main process, even when only the main
process is SIGKILLed mid-job (an orphaned pool child would keep running its job unseen).
Celery's prefork pool does this itself (PR_SET_PDEATHSIG); this guards that we keep it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.service.proctree import gone_after, tree, wait_for
from tests.service.support import REPO, Api, WorkerProcess, client_for, new_token, sqlite_settings

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


def test_a_worker_whose_serve_died_before_it_was_tied_kills_itself(tmp_path):
    """The race PR_SET_PDEATHSIG alone misses: the parent is gone before the prctl."""
    out = tmp_path / "child.out"
    child = ("import os, sys, time; from worker.lifeline import tie_to_parent; "
             "open(sys.argv[2], 'w').write(f'{os.getpid()}\\n'); time.sleep(1); "
             "tie_to_parent(int(sys.argv[1])); open(sys.argv[2], 'a').write('survived\\n'); time.sleep(30)")
    parent = ("import os, subprocess, sys; "
              f"subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid()), sys.argv[1]])")
    subprocess.run([sys.executable, "-c", parent, str(out)], check=True, cwd=REPO)  # the parent exits at once
    pid = int(wait_for(lambda: out.exists() and out.read_text().split("\n")[0], 10, "the child never started"))
    gone_after({pid}, timeout=10)
    assert "survived" not in out.read_text()
