"""Test support for the dashboard: a signed-in web user over a TestClient, and what the
browser tests drive (Debian's chromium, a running `certbound serve`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.session import COOKIE, csrf_token
from tests.service.support import Api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class WebUser:
    """One owner's browser session over a TestClient: the login cookie on every request
    and the CSRF token on every form (set explicitly, as a shared client keeps no jar)."""

    def __init__(self, client: TestClient, secret: str):
        self.client, self.secret, self.csrf = client, secret, csrf_token(secret)
        self.api = Api(client, secret)
        self.headers = {"Cookie": f"{COOKIE}={secret}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        data = {"csrf": self.csrf, **(data or {})}
        return self.client.post(path, data=data, headers={**self.headers, **kwargs.pop("headers", {})},
                                follow_redirects=False, **kwargs)


def text_of(response: httpx.Response) -> str:
    """The page's text with tags dropped and blanks squeezed, for asserting on what a reader sees."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).strip())


@dataclass(frozen=True)
class Dashboard:
    """A running `certbound serve` with a worker: its root URL, an owner's token, its settings."""

    url: str
    token: str
    settings: Settings


def fill_jobs(settings: Settings, secret: str, model_id: str, property_id: str | None, n: int,
              progress_events: int = 0) -> list[str]:
    """Insert `n` finished-looking jobs of the owner of `secret` in one bulk statement, one
    a minute back in time, with a mix of kinds, statuses and verdicts; the newest gets
    `progress_events` progress events. Returns the ids, newest first."""
    from datetime import timedelta

    from sqlalchemy import insert

    from app.auth import owner_for_secret
    from app.db.models import Job, JobEvent, new_id, utcnow
    from app.db.session import session_scope

    outcomes = [("succeeded", "unsat"), ("succeeded", "sat"), ("failed", "error"), ("cancelled", None),
                ("succeeded", "timeout")]
    now = utcnow()
    rows = []
    for i in range(n):
        status, verdict = outcomes[i % len(outcomes)]
        created = now - timedelta(minutes=i + 1)
        rows.append({"id": new_id(), "kind": "verify" if i % 7 else "inspect", "status": status, "verdict": verdict,
                     "model_id": model_id, "property_id": property_id, "timeout_s": 300.0, "config": {}, "queue": "cpu",
                     "created_at": created, "enqueued_at": created, "started_at": created + timedelta(seconds=1),
                     "finished_at": created + timedelta(seconds=2 + i % 50), "attempts": 1, "cancel_requested": False,
                     "progress": {"phase": "done", "domains_visited": i, "domains_open": 0, "lower_bound": 0.1,
                                  "elapsed_s": 1.0 + i % 50}})
    with session_scope(settings.database_url) as session:
        owner = owner_for_secret(session, secret)
        session.execute(insert(Job), [{**row, "owner_id": owner.id} for row in rows])
        events = [{"job_id": rows[0]["id"], "at": now, "type": "progress",
                   "data": {"phase": "bab", "domains_visited": 10 * k, "domains_open": k % 100,
                            "lower_bound": -1.0 + k / max(progress_events, 1), "elapsed_s": float(k)}}
                  for k in range(progress_events)]
        if events:
            session.execute(insert(JobEvent), events)
    return [row["id"] for row in rows]


def finish_with_progress(settings: Settings, job_id: str, reports: list[dict], **outcome: Any) -> None:
    """Write what a worker writes: progress events, the latest progress, and an outcome."""
    from sqlalchemy import update

    from app.db.models import Job, JobEvent, utcnow
    from app.db.session import session_scope

    with session_scope(settings.database_url) as session:
        for report in reports:
            session.add(JobEvent(job_id=job_id, at=utcnow(), type="progress", data=report))
        values = {"progress": reports[-1], "started_at": utcnow(), **outcome}
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def store_evidence(settings: Settings, job_id: str, kind: str, data: bytes) -> str:
    """Store `data` as the job's certificate or counterexample file, as the worker does; its sha256."""
    from app.db.models import Artifact
    from app.db.session import session_scope
    from app.storage import ArtifactStore

    with session_scope(settings.database_url) as session:
        sha = ArtifactStore(settings.artifacts_dir).put_bytes(data)
        session.add(Artifact(job_id=job_id, kind=kind, sha256=sha, size_bytes=len(data)))
    return sha
