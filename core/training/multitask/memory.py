"""Peak resident memory of this process over a stretch of work.

Linux keeps the high-water mark of the resident set (VmHWM in /proc/self/status) and
resets it when "5" is written to /proc/self/clear_refs, so the peak of one training run
can be measured inside a long-lived worker. Elsewhere (or where that file is not
writable) the figure is `resource.getrusage`'s ru_maxrss: the process's peak since it
started, an upper bound. torch's CPU tensors are not seen by `tracemalloc`, which
only follows Python's own allocator, hence the resident set.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_CLEAR_REFS, _STATUS = Path("/proc/self/clear_refs"), Path("/proc/self/status")


def reset_peak() -> bool:
    """Start a new peak; False when the platform cannot (the peak is then since process start)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_bytes() -> int:
    """The resident-set high-water mark since the last successful `reset_peak`, in bytes."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, KiB on Linux
