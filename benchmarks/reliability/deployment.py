"""A real certbound deployment on 127.0.0.1 for the reliability suite, or one to attach to.

Two local set-ups, both made of the shipped commands as an operator would run them:

- embedded: `certbound serve --data-dir TMP --port P` (SQLite database and broker, one
  worker subprocess that serve supervises);
- postgres: `certbound serve --no-worker` plus `certbound worker` processes, on a fresh
  PostgreSQL database (created here, dropped at the end) and Redis under a key prefix of
  its own (its keys deleted at the end).

`Deployment.attach(url, token)` drives a deployment someone else runs: the HTTP parts work
against it; the parts that kill processes or read /proc need the local ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
CERTBOUND = str(Path(sys.executable).parent / "certbound")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Shorter clocks than the defaults (heartbeat stale after 30 s, reaper every 60 s), so that
# a killed job is re-queued within seconds. Time to recovery scales with these two.
FAST_CLOCKS = {"CERTBOUND_HEARTBEAT_INTERVAL_S": "0.5", "CERTBOUND_HEARTBEAT_STALE_S": "6",
               "CERTBOUND_REAPER_INTERVAL_S": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict ({} when the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by its parent, counts as gone)."""
    state = proc_status(pid).get("State", "")
    return bool(state) and not state.startswith(("Z", "X"))


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak since start or the last reset) in KiB."""
    status = proc_status(pid)
    return {key: int(status[key].split()[0]) for key in ("VmRSS", "VmHWM") if key in status}


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, same owner)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def processes() -> dict[int, tuple[int, str]]:
    """PID -> (parent PID, state letter) of every live (non-zombie) process, in one scan."""
    table = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if not fields["State"].startswith(("Z", "X")):
            table[int(status.parent.name)] = (int(fields["PPid"]), fields["State"][0])
    return table


def children(pid: int) -> list[int]:
    return [child for child, (parent, _) in processes().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...)."""
    table, found, frontier = processes(), [], {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier}
        found += sorted(frontier)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def is_worker_command(args: list[str]) -> bool:
    return ("-m" in args and "worker" in args) or (len(args) > 1 and args[1] == "worker")


def kill_pids(pids: list[int]) -> None:
    """SIGKILL exactly these processes (ours: started by this module or their children)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class Deployment:
    backend: str  # "embedded", "postgres" or "attached"
    base_url: str  # http://host:port/api/v1
    token: str = ""
    workdir: Path | None = None
    data_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    n_workers: int = 1
    port: int = 0
    serve: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    database: str = ""
    postgres_url: str = ""
    redis_url: str = ""
    _owned_workdir: bool = False

    # -- construction -----------------------------------------------------------------
    @classmethod
    def attach(cls, url: str, token: str) -> "Deployment":
        base = url.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        return cls(backend="attached", base_url=base, token=token)

    @classmethod
    def start(cls, backend: str = "embedded", workdir: Path | None = None, *, n_workers: int = 1,
              env: dict[str, str] | None = None, postgres_url: str | None = None, redis_url: str | None = None,
              fast_clocks: bool = True) -> "Deployment":
        """Start a local deployment; stop it with `stop()` (or use it as a context manager)."""
        if backend not in ("embedded", "postgres"):
            raise ValueError(f"unknown backend {backend!r}: embedded or postgres")
        owned = workdir is None
        workdir = Path(tempfile.mkdtemp(prefix=f"certbound-rel-{backend}-")) if owned else Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "tmp").mkdir(exist_ok=True)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CERTBOUND_") or k.startswith("CERTBOUND_TEST")}
        base_env.setdefault("OMP_NUM_THREADS", "1")
        base_env["TMPDIR"] = str(workdir / "tmp")  # so that temporary files left behind are seen
        extra = {**(FAST_CLOCKS if fast_clocks else {}), **(env or {})}
        port = free_port()
        self = cls(backend=backend, base_url=f"http://127.0.0.1:{port}/api/v1", workdir=workdir,
                   data_dir=workdir / "data", env={**base_env, **extra}, n_workers=n_workers, port=port,
                   _owned_workdir=owned)
        try:
            if backend == "postgres":
                self._create_database(postgres_url or os.environ.get("CERTBOUND_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                                      redis_url or os.environ.get("CERTBOUND_TEST_REDIS_URL", DEFAULT_REDIS_URL))
            self.start_serve()
            if backend == "postgres":
                # serve migrates the fresh database first; a worker migrating at the same
                # moment races it (both CREATE TABLE alembic_version) and one of them exits.
                self.wait_ready(workers=0)
                for _ in range(n_workers):
                    self.start_worker()
            self.wait_ready(workers=n_workers)
            self.token = (self.data_dir / "token").read_text().strip()
        except BaseException:
            self.stop()
            raise
        return self

    def _create_database(self, postgres_url: str, redis_url: str) -> None:
        import psycopg

        self.database = f"certbound_rel_{uuid.uuid4().hex[:12]}"
        self.postgres_url, self.redis_url = postgres_url, redis_url
        with psycopg.connect(self._admin_url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.env.update({"CERTBOUND_DATABASE_URL": postgres_url.rsplit("/", 1)[0] + f"/{self.database}",
                         "CERTBOUND_BROKER_URL": redis_url, "CERTBOUND_BROKER_KEY_PREFIX": f"{self.database}:"})

    def _admin_url(self) -> str:
        return self.postgres_url.replace("postgresql+psycopg://", "postgresql://")

    # -- processes --------------------------------------------------------------------
    def start_serve(self) -> None:
        args = [CERTBOUND, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        if self.backend == "postgres":
            args.append("--no-worker")
        with open(self.workdir / "serve.log", "ab") as log:
            self.serve = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
                                          start_new_session=True)

    def start_worker(self) -> subprocess.Popen:
        with open(self.workdir / f"worker-{len(self.workers)}.log", "ab") as log:
            process = subprocess.Popen([CERTBOUND, "worker", "--data-dir", str(self.data_dir)], stdout=log,
                                       stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir, start_new_session=True)
        self.workers.append(process)
        return process

    def wait_ready(self, workers: int = 1, timeout: float = 90.0) -> float:
        """Wait until /healthz answers and lists `workers` live workers; returns the seconds waited."""
        start = time.monotonic()
        while True:
            if self.serve is not None and self.serve.poll() is not None:
                raise RuntimeError(f"serve exited with {self.serve.returncode}:\n{self.log_tail()}")
            try:
                report = httpx.get(f"{self.base_url}/healthz", timeout=3).json()
                if len(report.get("workers") or []) >= workers:
                    return time.monotonic() - start
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"deployment not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, chars: int = 3000) -> str:
        if self.workdir is None:
            return ""
        logs = sorted(self.workdir.glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in logs)

    @property
    def serve_pid(self) -> int | None:
        return self.serve.pid if self.serve is not None and self.serve.poll() is None else None

    def worker_pids(self) -> list[int]:
        """Main process of every live worker (embedded: serve's worker children)."""
        if self.backend == "embedded":
            return [pid for pid in children(self.serve.pid) if is_worker_command(cmdline(pid)) and alive(pid)] \
                if self.serve is not None else []
        return [p.pid for p in self.workers if p.poll() is None]

    def worker_tree(self) -> list[int]:
        """Every worker process: main processes and their pool children."""
        pids = self.worker_pids()
        return pids + [child for pid in pids for child in descendants(pid)]

    def kill_worker(self, restart: bool = True) -> list[int]:
        """SIGKILL one worker and its pool (as a crashed process would die). Embedded, serve
        restarts it; scaled, with `restart` the harness starts another (as systemd would)."""
        pids = self.worker_pids()
        if not pids:
            raise RuntimeError("no live worker to kill")
        victim = [pids[0], *descendants(pids[0])]
        kill_pids(victim)
        for process in self.workers:
            if process.pid == pids[0]:
                process.wait(timeout=10)
                self.workers.remove(process)
                if restart:
                    self.start_worker()
                break
        return victim

    def kill_serve(self) -> int:
        """SIGKILL the serve process alone (not its process group); returns its PID."""
        pid = self.serve.pid
        os.kill(pid, signal.SIGKILL)
        self.serve.wait(timeout=10)
        return pid

    def stop(self) -> None:
        processes = ([self.serve] if self.serve is not None else []) + self.workers
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process is self.serve else signal.SIGTERM)
        for process in processes:
            try:
                # serve may wait for its worker's warm shutdown; a scaled worker's job is of no
                # further interest (its database is dropped next).
                process.wait(timeout=30 if process is self.serve else 5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: its group is ours
                except ProcessLookupError:
                    pass
                process.wait()
        self.workers.clear()
        if self.database:
            self._drop_database()
        if self._owned_workdir and self.workdir is not None and not os.environ.get("CERTBOUND_REL_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _drop_database(self) -> None:
        import psycopg
        import redis

        with psycopg.connect(self._admin_url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(f"{self.database}:*"))
        if keys:
            client.delete(*keys)
        self.database = ""

    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP -------------------------------------------------------------------------
    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, timeout: float = 60.0, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=timeout, **kwargs)

    @property
    def root_url(self) -> str:
        return self.base_url.removesuffix("/api/v1")
