"""Wall-clock budget, cancellation and progress reports, shared by every phase of a run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.result import Progress, ProgressCallback

# Reports go out at least this often (the contract says at least once a second).
REPORT_EVERY_S = 0.5


class Stop(Exception):
    """Raised inside a phase when the run must end now; `reason` is "timeout" or "cancelled"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """Deadline plus the progress callback; `check` is called at every step of every phase."""

    timeout_s: float
    callback: ProgressCallback | None = None
    start: float = field(default_factory=time.monotonic)
    phase: str = "start"
    domains_visited: int = 0
    domains_open: int = 0
    lower_bound: float | None = None
    _last_report: float = field(default=float("-inf"), init=False)

    @property
    def deadline(self) -> float:
        return self.start + self.timeout_s

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.check(force=True)

    def check(self, force: bool = False) -> None:
        """Report progress when due; raise `Stop` on timeout or when the callback asks to stop."""
        now = time.monotonic()
        if force or now - self._last_report >= REPORT_EVERY_S:
            self._last_report = now
            if self.report(self.phase):
                raise Stop("cancelled")
        if now > self.deadline:
            raise Stop("timeout")

    def report(self, phase: str) -> bool:
        """Send one progress event; True when the callback asked to stop."""
        if self.callback is None:
            return False
        event = Progress(phase, self.domains_visited, self.domains_open, self.lower_bound, self.elapsed)
        return bool(self.callback(event))
