"""The peak resident set follows a large allocation after a reset.

Run in a fresh interpreter: in the test process, after a thousand other tests, the
allocator may hand back pages that are still resident, so a new array need not raise the
resident set at all (seen once in a full run)."""

import subprocess
import sys

PROBE = """
import numpy as np
from core.training.multitask import memory
memory.reset_peak()
before = memory.peak_bytes()
block = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
print(memory.peak_bytes() - before)
"""


def test_peak_grows_by_what_was_touched():
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout) >= 48 * 2**20
