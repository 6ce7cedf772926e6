"""The process table as /proc shows it (Linux): which processes of a tree still live."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.reliability.deployment import descendants, processes


def tree(root: int) -> set[int]:
    """`root` and all its live descendants."""
    return {root, *descendants(root)}


def workers_for(data_dir: Path) -> dict[int, int]:
    """Live `-m worker` processes (mains and pool) using `data_dir`: PID -> parent PID."""
    wanted = f"CERTBOUND_DATA_DIR={data_dir.resolve()}".encode()
    found = {}
    for pid, (ppid, _) in processes().items():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-m\0worker" in command and wanted in environ:
            found[pid] = ppid
    return found


def worker_mains(data_dir: Path) -> list[int]:
    found = workers_for(data_dir)
    return sorted(pid for pid, ppid in found.items() if ppid not in found)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def gone_after(pids: set[int], timeout: float = 15.0) -> float:
    """Seconds until none of `pids` is alive (zombies count as gone)."""
    start = time.monotonic()
    wait_for(lambda: not (pids & set(processes())), timeout, f"still alive: {pids & set(processes())}")
    return time.monotonic() - start
