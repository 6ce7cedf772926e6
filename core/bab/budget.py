"""Wall-clock budget, cancellation and progress reports, shared by every phase of a run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Hashable

from core.result import Progress, ProgressCallback

# Reports go out at least this often (the contract says at least once a second).
REPORT_EVERY_S = 0.5


class Stop(Exception):
    """Raised inside a phase when it must end now; `reason` is "timeout", "cancelled",
    "slice" (the end of a stage's share), "stage" (`Budget.stage_end`: a distributed job's
    first stage) or "domains" (`Budget.max_domains`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """Deadline plus the progress callback; `check` is called at every step of every phase.

    Inside `with budget:` a heartbeat thread also reports whenever the running phase has
    been silent for `REPORT_EVERY_S` (one bound call can take longer than a second); a
    stop request it receives takes effect at the next `check`.

    `lower_bound` is a bound of the whole problem (the minimum over every target) that
    never gets worse: see `raise_bound`.
    """

    timeout_s: float
    callback: ProgressCallback | None = None
    start: float = field(default_factory=time.monotonic)
    phase: str = "start"
    domains_visited: int = 0
    domains_open: int = 0
    lower_bound: float | None = None
    slice_end: float | None = None
    stage_end: float | None = None  # a distributed job's first search ends here (its own slices go on inside it)
    max_domains: int | None = None  # Stop("domains") once this many are visited: a limit that load cannot change
    on_check: Callable[[], None] | None = None  # called at every check, in the thread that runs the search
    target: Hashable = None  # the target (region, disjunct) whose search runs now
    bounds: dict[Hashable, float] = field(default_factory=dict)  # per target, the best lower bound known
    pursuit_s: float = 0.0  # time the LP pursuit (core.bab.pursuit) has taken, every search's together
    # seconds into the run at which each milestone was first reached: every phase entered, the root's
    # sub-steps, "first_branch" (the first step of branch and bound); the result's stats carry them
    marks: dict[str, float] = field(default_factory=dict)
    _last_report: float = field(default=float("-inf"), init=False)
    _cancelled: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _quit: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __enter__(self) -> "Budget":
        if self.callback is not None:
            self._quit.clear()
            self._thread = threading.Thread(target=self._heartbeat, name="progress-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._quit.set()
            self._thread.join()
            self._thread = None

    def _heartbeat(self) -> None:
        while not self._quit.wait(REPORT_EVERY_S / 4):
            if time.monotonic() - self._last_report >= REPORT_EVERY_S:
                self._send()

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
        self.mark(phase)
        self.check(force=True)

    def mark(self, milestone: str) -> None:
        """Note the time of `milestone` the first time it is reached (later ones keep the first)."""
        self.marks.setdefault(milestone, round(self.elapsed, 3))

    def check(self, force: bool = False) -> None:
        """Report progress when due; raise `Stop` on timeout or when the callback asks to stop."""
        if self.on_check is not None:
            self.on_check()
        if self.domains_visited and "first_branch" not in self.marks:
            self.mark("first_branch")  # branch and bound has bounded its first children
        if force or time.monotonic() - self._last_report >= REPORT_EVERY_S:
            self._send()
        if self._cancelled:
            raise Stop("cancelled")
        if time.monotonic() > self.deadline:
            raise Stop("timeout")
        if self.slice_end is not None and time.monotonic() > self.slice_end:
            raise Stop("slice")
        if self.stage_end is not None and time.monotonic() > self.stage_end:
            raise Stop("stage")
        if self.max_domains is not None and self.domains_visited >= self.max_domains:
            raise Stop("domains")

    def raise_bound(self, value: float | None, target: Hashable = None) -> None:
        """Take `value` as a lower bound of `target` (default: `self.target`, the one
        searched now). Each bound a sound method gives holds over that target's whole box,
        so the target keeps the largest it was given (a child domain's bound can come out
        below its parent's, and a search that starts over from another root starts low);
        `lower_bound` becomes the smallest over the targets: a bound of the whole problem."""
        if value is None:
            return
        key = self.target if target is None else target
        self.bounds[key] = max(float(value), self.bounds.get(key, float("-inf")))
        self.lower_bound = min(self.bounds.values())

    def stopping(self) -> bool:
        """True once `check` would raise: for loops that must end early but cannot raise."""
        now = time.monotonic()
        return (self._cancelled or now > self.deadline or any(end is not None and now > end for end in
                                                                (self.slice_end, self.stage_end))
                or (self.max_domains is not None and self.domains_visited >= self.max_domains))

    def _send(self) -> None:
        with self._lock:
            self._last_report = time.monotonic()
            if self.report(self.phase):
                self._cancelled = True

    def report(self, phase: str) -> bool:
        """Send one progress event; True when the callback asked to stop."""
        if self.callback is None:
            return False
        event = Progress(phase, self.domains_visited, self.domains_open, self.lower_bound, self.elapsed)
        return bool(self.callback(event))
