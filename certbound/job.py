"""A job as GET /jobs/{id} describes it, with attribute access for notebooks."""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict

TERMINAL = ("succeeded", "failed", "cancelled")
# Polling while waiting: quick at first (small jobs end in a second), then every few seconds.
FIRST_POLL_S, MAX_POLL_S, POLL_GROWTH = 0.25, 3.0, 1.5


def poll_pauses() -> Iterator[float]:
    """The pauses between reads of a job's state while waiting for it to finish."""
    pause = FIRST_POLL_S
    while True:
        yield pause
        pause = min(pause * POLL_GROWTH, MAX_POLL_S)


class Job(BaseModel):
    """The server's job (docs/api.md); fields the server adds later are kept as extras."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str = "verify"
    status: str
    verdict: str | None = None
    model_id: str | None = None
    property_id: str | None = None
    timeout_s: float | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    progress: dict[str, Any] = {}
    error: str | None = None
    result: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None  # what backs the verdict: kind, sha256, filename (download)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def elapsed_s(self) -> float | None:
        """The engine's time for a finished verify job, else the progress so far."""
        if self.result and isinstance(self.result.get("elapsed_s"), (int, float)):
            return float(self.result["elapsed_s"])
        return self.progress.get("elapsed_s")

    def summary(self) -> str:
        """One line: id, status, verdict and where the search is (or how it ended)."""
        parts = [self.id, self.status if self.verdict is None else f"{self.status} {self.verdict}"]
        progress = self.progress
        if progress.get("phase") and not self.finished:
            parts.append(f"phase={progress['phase']}")
        if progress.get("domains_visited"):
            parts.append(f"domains={progress['domains_visited']} open={progress.get('domains_open', 0)}")
        if progress.get("lower_bound") is not None:
            parts.append(f"bound={progress['lower_bound']:.4g}")
        if self.elapsed_s is not None:
            parts.append(f"{self.elapsed_s:.2f}s")
        message = self.error or (self.result or {}).get("message")
        if message and self.finished:
            parts.append(f"({message.splitlines()[0]})")
        return " ".join(parts)
