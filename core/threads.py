"""How many CPU threads a run uses when the user does not say (`threads=None`).

Why not torch's default of one thread per core: torch splits each CPU operation over its
OpenMP threads and waits for all of them at the end of it. When another process keeps one
of the cores busy, every operation waits for the thread the scheduler left out, and a
verification on a busy 2-core machine ran 16-30 times slower than on one thread (ACAS Xu).
Small networks gain nothing from a second thread even on a quiet machine: their
operations are too short to be worth splitting. So the default is

- one thread for fully connected networks under `PARALLEL_MACS` multiply-accumulates
  per forward pass, and convolutional ones under `CONV_PARALLEL_MACS` (measured, not
  derived: the CIFAR networks of oval21, 0.3-0.9 M, ran up to 2x faster on a second free
  core, the MNIST and ERAN fully connected ones of the same size no faster);
- above that, one thread per core that is free, but one: the cores this process may run
  on (affinity, and the cgroup's CPU quota in a container) less the share of them that
  other processes used over the first `MIN_SAMPLE_S` seconds of the run (the machine's busy
  time less this process's own, which meanwhile builds the run: the sample costs next to
  nothing), less one kept for everything else; at least one.

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

# Forward-pass multiply-accumulates from which a second thread pays off on a quiet machine:
# for fully connected networks, and for networks with convolutions.
PARALLEL_MACS = 5_000_000
CONV_PARALLEL_MACS = 250_000
# The shortest span the busy share is measured over (/proc/stat counts in 10 ms ticks).
MIN_SAMPLE_S = 0.05
# A core counts as free while other processes use at most this share of it.
BUSY_TOLERANCE = 0.25


def parallel_worthy(forward_macs: int, convolutional: bool) -> bool:
    """Whether a network of `forward_macs` multiply-accumulates per forward pass (with
    convolutions or not) may gain from more than one thread."""
    return forward_macs >= (CONV_PARALLEL_MACS if convolutional else PARALLEL_MACS)


def choose_threads(cores: int, busy: float) -> int:
    """Threads for a network worth parallelising, given `cores` this process may use and
    `busy` of them (a real number) used by others: the free ones but one, at least one.

    One core is always left over, for the system, this run's own helper threads and other
    processes' bursts: one thread they hold up for a moment holds up every operation
    (on 2 cores this means one thread; two were 2x slower on the CIFAR networks as often
    as they were 2x faster there, docs/results/threads.md)."""
    return max(1, min(cores - 1, math.floor(cores - busy + BUSY_TOLERANCE)))


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
    """The thread count of one run: `start` while the run is built, then `settle()`.

    With `requested` (the user's --threads) that count throughout; for networks not
    `parallel_worthy` one thread; otherwise one thread, then what the cores left free
    meanwhile allow (`choose_threads`; the 1-minute load average where /proc/stat is missing).
    """

    def __init__(self, requested: int | None, forward_macs: int, convolutional: bool = False) -> None:
        self.start = requested or 1
        self.measures = requested is None and parallel_worthy(forward_macs, convolutional) and usable_cores() > 2
        try:
            self._sample = CpuSample.now() if self.measures else None
        except (OSError, ValueError, AttributeError):  # no /proc/stat, or no affinity (not Linux)
            self._sample = None

    def settle(self) -> int:
        """The count for the rest of the run."""
        if not self.measures:
            return self.start
        busy = self._sample.others_busy() if self._sample else os.getloadavg()[0]
        return choose_threads(usable_cores(), busy)
