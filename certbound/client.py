"""`Client`: the certbound API from Python (notebooks, scripts) and for the client commands.

    from certbound import Client
    with Client() as client:                      # server and token: docs/client.md
        job_id = client.submit_files("net.onnx", "prop.vnnlib", timeout_s=60)
        job = client.wait(job_id, progress=print)
        client.download(job_id, "proof.zip")

Every request is retried after a 503 or a lost connection (certbound.transport); every
refusal raises CertboundError with the server's message. No torch here: the client runs
where the engine does not.
"""

from __future__ import annotations

import email.message
import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from certbound.config import resolve
from certbound.errors import CertboundError
from certbound.job import Job, poll_pauses
from certbound.transport import RETRIES, send

REQUEST_TIMEOUT_S = 60.0
SHA256_HEADER = "X-Certbound-SHA256"  # of the certificate or counterexample bytes sent


class Client:
    """One server and token (`server`/`token`, else CERTBOUND_SERVER / CERTBOUND_TOKEN, else
    the config file); `on_retry` hears about each retry (a line saying why and when)."""

    def __init__(self, server: str | None = None, token: str | None = None, *, retries: int = RETRIES,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, on_retry: Callable[[str], None] | None = None):
        self.config = resolve(server, token)
        self.retries, self.on_retry = retries, on_retry
        self.http = httpx.Client(base_url=self.config.api_url, timeout=request_timeout_s,
                                 headers={"Authorization": f"Bearer {self.config.token}"})

    def __repr__(self) -> str:
        return f"Client(server={self.config.server!r})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, subject: str = "", **kwargs: Any) -> httpx.Response:
        response = send(self.http, method, path, retries=self.retries, on_retry=self.on_retry, **kwargs)
        if response.status_code == 401:
            subject = f"{self.config.server} refused the token"
        if response.status_code >= 400:
            response.close()
            raise CertboundError.from_response(response, subject)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise CertboundError(f"{self.config.server}: not a certbound API (the answer to {method} {path} "
                                 "is not JSON)", response.status_code) from exc

    def _job(self, method: str, job_id: str, action: str = "") -> Job:
        try:
            return Job.model_validate(self._json(method, job_path(job_id, action), subject=job_id))
        except ValidationError as exc:
            raise CertboundError(f"{self.config.server}: not a certbound API (no job in the answer: "
                                 f"{exc.errors()[0]['msg']})") from exc

    # Uploads: the same bytes give the same object, so uploading again is cheap and safe.

    def _upload(self, kind: str, path: str | os.PathLike) -> dict[str, Any]:
        path = Path(path)
        with open(path, "rb") as handle:
            return self._json("POST", f"/{kind}", subject=str(path), rewind=lambda: handle.seek(0),
                              files={"file": (path.name, handle)})

    def upload_model(self, path: str | os.PathLike) -> dict[str, Any]:
        """Upload an ONNX network (plain or .gz); its summary, with `id`."""
        return self._upload("models", path)

    def upload_property(self, path: str | os.PathLike) -> dict[str, Any]:
        """Upload a VNN-LIB property (plain or .gz); its summary, with `id`."""
        return self._upload("properties", path)

    # Jobs.

    def submit(self, model_id: str, property_id: str, *, timeout_s: float | None = None,
               config: dict[str, Any] | None = None, idempotency_key: str | None = None) -> str:
        """Queue a verify job; its id. The request carries an Idempotency-Key (a fresh one
        unless given), so its retries, or a repeat with the same key, make one job only."""
        body: dict[str, Any] = {"kind": "verify", "model_id": model_id, "property_id": property_id,
                                "config": config or {}}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        key = idempotency_key or uuid.uuid4().hex
        return self._json("POST", "/jobs", json=body, headers={"Idempotency-Key": key})["id"]

    def submit_files(self, network: str | os.PathLike, prop: str | os.PathLike, *, timeout_s: float | None = None,
                     config: dict[str, Any] | None = None) -> str:
        """Upload both files and queue a verify job on them; its id."""
        model = self.upload_model(network)
        return self.submit(model["id"], self.upload_property(prop)["id"], timeout_s=timeout_s, config=config)

    def status(self, job_id: str) -> Job:
        return self._job("GET", job_id)

    def jobs(self, status: str | None = None, kind: str | None = None, page_size: int = 100) -> Iterator[Job]:
        """The owner's jobs, newest first, fetched a page at a time."""
        params: dict[str, Any] = {"limit": page_size, **({"status": status} if status else {}),
                                  **({"kind": kind} if kind else {})}
        while True:
            page = self._json("GET", "/jobs", params=params)
            yield from (Job.model_validate(item) for item in page["items"])
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    def wait(self, job_id: str, *, timeout_s: float | None = None,
             progress: Callable[[Job], None] | None = None) -> Job:
        """Poll until the job has finished (succeeded, failed or cancelled) and return it;
        `progress` is called with each state read. TimeoutError after `timeout_s` (the job
        goes on running)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for pause in poll_pauses():
            job = self.status(job_id)
            if progress is not None:
                progress(job)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() + pause > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout_s:g} s")
            time.sleep(pause)

    def cancel(self, job_id: str) -> Job:
        """Ask the server to stop the job (a queued one is cancelled at once); the job as it
        is now. A finished job cannot be cancelled (CertboundError, 409)."""
        return self._job("POST", job_id, "cancel")

    def download(self, job_id: str, path: str | os.PathLike | None = None) -> Path:
        """Write what backs the job's verdict to `path` (a file, or a folder for the server's
        file name; default: the server's file name here): an unsat's certificate (zip), a
        sat's counterexample (VNN-COMP result text). Check it with `certbound check NET PROP
        FILE`. The file appears whole or not at all. CertboundError when there is none."""
        response = self._send("GET", job_path(job_id, "certificate"), subject=job_id, stream=True)
        try:
            target = Path(path) if path is not None else Path.cwd()
            if target.is_dir():
                target = target / served_filename(response, job_id)
            write_whole(target, response.iter_bytes(), response.headers.get(SHA256_HEADER))
        except httpx.TransportError as exc:
            raise CertboundError(f"{self.http.base_url}: the download of job {job_id} broke off ({exc})") from exc
        finally:
            response.close()
        return target

    def batch(self, folder: str | os.PathLike, **options: Any) -> list[dict[str, Any]]:
        """Every instance of a VNN-COMP benchmark folder (instances.csv), submitted at once
        and waited for: one results row each (certbound.batch.run_batch, its options)."""
        from certbound.batch import run_batch

        return run_batch(self, Path(folder), **options)


def job_path(job_id: str, action: str = "") -> str:
    """The job's URL path; the id is quoted, so that no id can name another route."""
    return f"/jobs/{quote(job_id, safe='')}" + (f"/{action}" if action else "")


def write_whole(target: Path, chunks: Iterator[bytes], sha256: str | None) -> None:
    """Write `chunks` to a temporary file beside `target`, renamed to it once complete and
    (when the server named one) its sha256 matches."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest = hashlib.sha256()
    try:
        with open(partial, "xb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        if sha256 and digest.hexdigest() != sha256.lower():
            raise CertboundError(f"{target}: the download's sha256 is {digest.hexdigest()}, the server "
                                 f"announced {sha256}; nothing written")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def served_filename(response: httpx.Response, job_id: str) -> str:
    """The file name the server gave (Content-Disposition), reduced to a plain name."""
    header = email.message.Message()
    header["content-disposition"] = response.headers.get("content-disposition", "")
    name = Path(header.get_filename() or "").name
    return name if name not in ("", ".", "..") else f"{job_id}.evidence"
