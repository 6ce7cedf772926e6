"""Test support for the service: isolated environments (SQLite, or PostgreSQL + Redis),
worker subprocesses, and a small API client. Everything here is real: no mocks."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterator

import httpx
import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth import create_token, owner_for_secret
from app.db.migrate import upgrade
from app.db.models import WorkerBeat
from app.db.session import get_engine, session_scope
from app.main import create_app
from app.services.jobs import JobCreate, create_job
from app.services.uploads import upload_model, upload_property
from app.settings import Settings
from app.storage import ArtifactStore
from core.data import SHARED_ENV
from tests.conftest import REPO

# Fast clocks so that reaping and cancelling happen within seconds in tests.
FAST = dict(heartbeat_interval_s=0.5, heartbeat_stale_s=4.0, reaper_interval_s=3600.0, max_attempts=2,
            soft_limit_grace_s=5.0, hard_limit_grace_s=10.0, progress_event_interval_s=0.2,
            cancel_poll_interval_s=0.2, cancel_grace_s=2.0, default_timeout_s=60.0)


def sqlite_settings(data_dir: Path, **overrides: Any) -> Settings:
    settings = Settings(data_dir=data_dir, **{**FAST, **overrides})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    return settings


@contextmanager
def postgres_redis_settings(data_dir: Path, postgres_url: str, redis_url: str, **overrides: Any) -> Iterator[Settings]:
    """A fresh PostgreSQL database and Redis key prefix, dropped afterwards."""
    name = f"certbound_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    database_url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"{name}:"
    settings = Settings(data_dir=data_dir, database_url=database_url, broker_url=redis_url,
                        broker_key_prefix=prefix, **{**FAST, **overrides})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.database_url)
        yield settings
    finally:
        get_engine(database_url).dispose()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])]


def backend_settings(request, data_dir: Path, **overrides: Any):
    """A context manager giving fresh settings for `request.param` ("sqlite" or "postgres",
    the latter from the postgres_url and redis_url fixtures, which skip when absent)."""
    if request.param == "sqlite":
        return nullcontext(sqlite_settings(data_dir, **overrides))
    return postgres_redis_settings(data_dir, request.getfixturevalue("postgres_url"),
                                   request.getfixturevalue("redis_url"), **overrides)


# Of the CERTBOUND_ variables a test run has, a subprocess keeps only the tests' own and the
# engine's data location (a worker trains on the MNIST copy the run is configured with); the
# rest (service settings, the PID an embedded worker watches, ...) would make it run with the
# developer's configuration rather than the test's.
KEPT = ("CERTBOUND_TEST", SHARED_ENV)


def inherited_environment() -> dict[str, str]:
    """This process's environment less every CERTBOUND_ variable that is not in KEPT."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CERTBOUND_") or k.startswith(KEPT)}


def environment(settings: Settings) -> dict[str, str]:
    """The environment a subprocess needs to run with exactly these settings."""
    env = inherited_environment()
    for name, value in settings.model_dump().items():
        env[f"CERTBOUND_{name.upper()}"] = str(value)
    # the repository first, then whatever path the caller set (packages installed with --target)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def new_token(settings: Settings, name: str = "tester") -> str:
    with session_scope(settings.database_url) as session:
        return create_token(session, name)[1]


def make_job(settings: Settings, model_path: Path, prop_path: Path | None = None, **body: Any) -> str:
    """A queued job made through the services (no HTTP), for tests of the worker side."""
    store = ArtifactStore(settings.artifacts_dir)
    with session_scope(settings.database_url) as session:
        owner = owner_for_secret(session, new_token(settings))
        with open(model_path, "rb") as handle:
            model = upload_model(session, store, owner, model_path.name, handle, settings.max_upload_bytes)
        prop_id = None
        if prop_path is not None:
            with open(prop_path, "rb") as handle:
                prop_id = upload_property(session, store, owner, prop_path.name, handle, settings.max_upload_bytes).id
        job = create_job(session, settings, owner, JobCreate(model_id=model.id, property_id=prop_id, **body))
        return job.id


class WorkerProcess:
    """`python -m worker` as a subprocess in its own process group (so a test can
    SIGKILL the main process and its pool together, as a crashed machine would)."""

    def __init__(self, settings: Settings, log: Path, *args: str):
        self.settings, self.log, self.args = settings, log, args
        self.process: subprocess.Popen | None = None
        self.name = ""

    def start(self, timeout: float = 60.0) -> "WorkerProcess":
        handle = open(self.log, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "worker", *self.args],
                                        env=environment(self.settings), cwd=REPO, stdout=handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        self.name = f"certbound-{self.process.pid}@"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            with session_scope(self.settings.database_url) as session:
                names = session.scalars(select(WorkerBeat.name)).all()
            # The row is written before Celery starts consuming; give it a moment to connect.
            if any(name.startswith(self.name) for name in names) and "ready." in self.log.read_text():
                return self
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        # Tests need no graceful shutdown (Celery's warm shutdown takes seconds on SQLite).
        if self.process is not None and self.process.poll() is None:
            self.kill()


class Api:
    """A TestClient bound to one owner's token."""

    def __init__(self, client: TestClient, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs):
        return self.client.get(f"/api/v1{path}", headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, **kwargs):
        return self.client.post(f"/api/v1{path}", headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def upload(self, kind: str, path: Path, *, unzip: bool = False):
        data = gzip.decompress(path.read_bytes()) if unzip else path.read_bytes()
        name = path.name.removesuffix(".gz") if unzip else path.name
        return self.post(f"/{kind}", files={"file": (name, data)})

    def upload_ok(self, kind: str, path: Path) -> dict[str, Any]:
        response = self.upload(kind, path)
        assert response.status_code == 201, response.text
        return response.json()

    def submit(self, model: dict, prop: dict | None = None, **body: Any) -> str:
        payload = {"kind": "verify", "model_id": model["id"], **body}
        if prop is not None:
            payload["property_id"] = prop["id"]
        response = self.post("/jobs", json=payload)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def wait(self, job_id: str, until: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
             timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/jobs/{job_id}").json()
            if job["status"] in until:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s: {job}")
            time.sleep(0.2)


class ServeProcess:
    """`certbound serve` as a subprocess on a free port, ready once /healthz lists a worker.
    With `settings`, it runs with exactly those (and --no-worker: start workers yourself)."""

    def __init__(self, data_dir: Path, log: Path, settings: Settings | None = None, env: dict[str, str] | None = None):
        self.data_dir, self.log, self.settings, self.extra_env = data_dir, log, settings, env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0, need_worker: bool = True) -> "ServeProcess":
        if self.settings is None:
            env = inherited_environment()
            args = ["--data-dir", str(self.data_dir)]
        else:
            env, args = environment(self.settings), ["--no-worker"]
        env = {**env, **self.extra_env}
        with open(self.log, "wb") as handle:
            self.process = subprocess.Popen([str(Path(sys.executable).parent / "certbound"), "serve", "--port", str(self.port),
                                             *args], stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).json()["workers"] or not need_worker:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"serve not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def worker_pids(self) -> list[int]:
        """The embedded worker's main process (a direct child running `-m worker`)."""
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
                command = (status.parent / "cmdline").read_text()
            except OSError:
                continue  # it exited while we looked
            if int(fields["PPid"]) == self.process.pid and "-m\0worker" in command:
                found.append(int(status.parent.name))
        return found

    def printed_token(self) -> str:
        return next(line.rsplit(" ", 1)[1] for line in self.log.read_text().splitlines() if line.startswith("owner token"))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, maintenance=False))


def instance(benchmarks_dir: Path, benchmark: str, onnx: str, vnnlib: str) -> tuple[Path, Path]:
    folder = benchmarks_dir / benchmark
    return folder / "onnx" / f"{onnx}.onnx.gz", folder / "vnnlib" / f"{vnnlib}.vnnlib.gz"


# A bundled instance no complete search decides (core/data/make_benchmarks.py): a job on it
# runs until it is stopped.
UNDECIDABLE = ("open", "wide", "wide_open")
