"""How many CPU threads a run uses when the user does not say (`threads=None`).

Why not torch's default of one thread per core: torch splits each CPU operation over its
OpenMP threads and waits for all of them at the end of it. When another process keeps one
of the cores busy, every operation waits for the thread the scheduler left out, and a
verification on a busy 2-core machine ran 16-30 times slower than on one thread (ACAS Xu).
Yet on a quiet machine the larger networks run up to 1.6x faster on two threads than on
one (docs/results/threads.md). No count fixed at the start is right for both, so:

- one thread for networks under `PARALLEL_MACS` multiply-accumulates per forward pass
  (ACAS Xu-size: their operations are too short to be worth splitting);
- above that, one thread per core that other processes leave free: the cores this process
  may run on (affinity, and the cgroup's CPU quota in a container) less the share of them
  other processes used (the machine's busy time less this process's own), first over
  the `MIN_SAMPLE_S` while the run is built, then again every `RESAMPLE_S` while it runs
  (`AutoThreads.adjust`, called from the run's budget checks): a process that starts
  spinning beside the run costs it at most about a second before the run steps aside.

A worker process runs one job at a time, so its job may take every free core; a second job
starting on the same machine sees those cores busy and takes what is left.
Measured in benchmarks/threads_bench.py (docs/results/threads.md).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Forward-pass multiply-accumulates from which a second thread pays off on a quiet machine
# (mnist_fc 256x2, 0.27 M, and the oval21 CIFAR networks, 0.3-0.9 M, ran 1.3-1.6x faster on
# two; ACAS Xu, 13 k, no faster).
PARALLEL_MACS = 250_000
# The shortest span the busy share is measured over (/proc/stat counts in 10 ms ticks).
MIN_SAMPLE_S = 0.05
# How often a running search measures the load again.
RESAMPLE_S = 1.0
# A core counts as free while other processes use at most this share of it.
BUSY_TOLERANCE = 0.25


def parallel_worthy(forward_macs: int) -> bool:
    """Whether a network of `forward_macs` multiply-accumulates per forward pass may gain
    from more than one thread."""
    return forward_macs >= PARALLEL_MACS


def choose_threads(cores: int, busy: float) -> int:
    """Threads for a network worth parallelising, given `cores` this process may use and
    `busy` of them (a real number) used by others: the free ones, at least one. No core is
    held back: the count is measured again every `RESAMPLE_S`, so a burst elsewhere costs
    about a second, not the run."""
    return max(1, min(cores, math.floor(cores - busy + BUSY_TOLERANCE)))


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def _cpu_times() -> dict[int, tuple[int, int]]:
    """Per core of this process's affinity: (busy, total) jiffies since boot, from /proc/stat."""
    allowed = os.sched_getaffinity(0)
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in allowed:
            continue
        values = [int(v) for v in fields]
        idle = values[3] + values[4]  # idle and iowait
        times[int(name[3:])] = (sum(values[:8]) - idle, sum(values[:8]))
    return times


@dataclass(frozen=True)
class CpuSample:
    """A point to measure other processes' CPU use from: wall clock, this process's CPU
    seconds (all its threads, onnxruntime's too), and `_cpu_times()`."""

    wall: float
    own: float
    ticks: dict[int, tuple[int, int]]

    @classmethod
    def now(cls) -> "CpuSample":
        return cls(time.monotonic(), time.process_time(), _cpu_times())

    def others_busy(self) -> float:
        """Cores' worth of CPU that other processes used since this sample: the cores' busy
        ticks less this process's own CPU time (measured over at least `MIN_SAMPLE_S`)."""
        waited = time.monotonic() - self.wall
        if waited < MIN_SAMPLE_S:
            time.sleep(MIN_SAMPLE_S - waited)
        after, wall, own = _cpu_times(), time.monotonic() - self.wall, time.process_time() - self.own
        common = [c for c in after if c in self.ticks]
        used = sum(after[c][0] - self.ticks[c][0] for c in common)
        spent = sum(after[c][1] - self.ticks[c][1] for c in common)
        if spent <= 0 or not common:
            return 0.0
        return max(0.0, used / (spent / len(common)) - own / wall)


class AutoThreads:
    """The thread count of one run: `start` while the run is built, `settle()` once it is,
    then `adjust()` at every budget check while it runs.

    With `requested` (the user's --threads) that count throughout; for networks not
    `parallel_worthy` one thread; otherwise what the cores left free allow
    (`choose_threads`; the 1-minute load average where /proc/stat is missing).
    """

    def __init__(self, requested: int | None, forward_macs: int,
                 set_threads: Callable[[int], None] | None = None) -> None:
        self.start = requested or 1
        self.current = self.start
        self.set_threads = set_threads
        self.measures = requested is None and parallel_worthy(forward_macs) and usable_cores() > 1
        self._measured_at = time.monotonic()
        try:
            self._sample = CpuSample.now() if self.measures else None
        except (OSError, ValueError, AttributeError):  # no /proc/stat, or no affinity (not Linux)
            self._sample = None

    def _measured(self) -> int:
        self._measured_at = time.monotonic()
        if self._sample is None:
            return choose_threads(usable_cores(), os.getloadavg()[0])
        busy = self._sample.others_busy()
        self._sample = CpuSample.now()
        return choose_threads(usable_cores(), busy)

    def settle(self) -> int:
        """The count from now on (until `adjust` changes it)."""
        if self.measures:
            self.current = self._measured()
        return self.current

    def adjust(self) -> None:
        """Measure again once `RESAMPLE_S` has passed, and hand a changed count to
        `set_threads`. Call it from the thread that runs torch (OpenMP's count is per thread)."""
        if not self.measures or self.set_threads is None:
            return
        if time.monotonic() - self._measured_at < RESAMPLE_S:
            return
        count = self._measured()
        if count != self.current:
            self.current = count
            self.set_threads(count)
