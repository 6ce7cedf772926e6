"""Tying the embedded worker to `certbound serve`, and one such worker per data directory.

A worker started by serve must not outlive it: an orphan keeps consuming the broker,
and the next serve would start a second one. (Celery's prefork pool already sets
PR_SET_PDEATHSIG=SIGKILL in its pool processes, so they die with the worker.)
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import threading
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
# How often the fallback thread looks at the parent PID (where prctl is missing).
WATCH_INTERVAL_S = 0.5
# Set by serve in its worker's environment: the PID the worker must not outlive.
SERVE_PID_ENV = "CERTBOUND_SERVE_PID"
# Set by `serve --workers N` in each embedded worker's environment: which of them it is (its lock).
SLOT_ENV = "CERTBOUND_EMBEDDED_SLOT"
LOCK_NAME = "embedded-worker.lock"


def _set_pdeathsig(sig: int) -> bool:
    """Ask Linux to send `sig` to this process when the thread that forked it exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def tie_to_parent(parent_pid: int) -> None:
    """SIGKILL this process as soon as `parent_pid` (its parent) is gone.

    prctl(PR_SET_PDEATHSIG) does it at once on Linux; the parent may have died before
    the prctl, so the parent PID is checked after it; a thread watching the parent PID
    covers systems without prctl. SIGKILL, not SIGTERM: Celery's warm shutdown would
    wait for the running job, and the reaper re-queues that job anyway.
    """
    kernel = _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:
        _die()
    if kernel:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(WATCH_INTERVAL_S)
        _die()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def lock_path(data_dir: Path, slot: int = 0) -> Path:
    """The lock of embedded worker `slot` (serve --workers N runs slots 0..N-1)."""
    return Path(data_dir) / (LOCK_NAME if slot == 0 else f"embedded-worker-{slot}.lock")


def hold_lock(path: Path) -> IO[str] | None:
    """Take the embedded worker's lock (flock, released by the kernel when the last
    process holding it, pool children included, is gone) and write our PID into it;
    None when another process holds it."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def lock_holder(path: Path) -> str | None:
    """The PID written by the process that holds the lock, or None when it is free."""
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return handle.read().strip() or "?"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
