"""A background thread that does one thing every few seconds until stopped."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Ticker(threading.Thread):
    """Calls `tick` every `interval` seconds (first at once when `immediately`). A failed
    tick is logged and retried at the next one: a database hiccup must not stop it."""

    def __init__(self, interval: float, tick: Callable[[], object], name: str, *, immediately: bool = False):
        super().__init__(name=name, daemon=True)
        self.interval, self.tick, self.immediately = interval, tick, immediately
        self.stopped = threading.Event()

    def run(self) -> None:
        if self.immediately:
            self._tick_once()
        while not self.stopped.wait(self.interval):
            self._tick_once()

    def _tick_once(self) -> None:
        try:
            self.tick()
        except Exception:  # noqa: BLE001
            log.exception("%s failed", self.name)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=10)
