"""A VNN-COMP benchmark folder run on a server: every instance uploaded and queued at once
(the server's workers take them in turn), then followed until each has finished, giving
one results row per instance, scored against expected.csv as `certbound bench` scores.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from certbound.errors import CertboundError
from certbound.job import Job, poll_pauses
from core.commands.bench import Instance, read_instances, score

if TYPE_CHECKING:
    from certbound.client import Client

FIELDS = ["benchmark", "onnx", "vnnlib", "timeout", "job_id", "status", "verdict", "time_s", "domains",
          "expected", "correct", "error"]
# Above this many jobs left, a polling round lists the unfinished ones instead of reading each.
FEW = 4
REFUSED = "refused"  # the status of an instance the server would not queue (the row's error says why)


def select_instances(folder: Path, pattern: str = "") -> list[Instance]:
    """The folder's instances (a benchmark folder, or a folder of them) whose
    benchmark/onnx/vnnlib matches `pattern`; ValueError naming the folder when none."""
    try:
        wanted = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"filter {pattern!r}: {exc}") from None
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder")
    try:
        instances = [inst for inst in read_instances(folder) if wanted.search(inst.key)]
    except (OSError, ValueError, csv.Error) as exc:
        raise ValueError(f"{folder}: unreadable instances.csv ({exc})") from None
    if not instances:
        raise ValueError(f"{folder}: no instances (instances.csv) match {pattern!r}")
    return instances


def run_batch(client: "Client", folder: Path, *, timeout_scale: float = 1.0, pattern: str = "",
              progress: Callable[[dict[str, Any], int, int], None] | None = None) -> list[dict[str, Any]]:
    """Submit every instance, wait for all, and return their rows (FIELDS), in file order.
    `progress(row, finished, total)` is called as each finishes. An instance the server
    refuses (a bad file, a timeout above its limit) gets status `refused` and the reason;
    a refused token or an unreachable server raises CertboundError."""
    instances = select_instances(folder, pattern)
    uploaded: dict[tuple[str, Path], str] = {}
    rows = [submit_instance(client, inst, timeout_scale, uploaded) for inst in instances]
    follow(client, rows, progress)
    return rows


def submit_instance(client: "Client", inst: Instance, timeout_scale: float,
                    uploaded: dict[tuple[str, Path], str]) -> dict[str, Any]:
    """The instance's row, its job queued (each file uploaded once per batch)."""
    row = {field: "" for field in FIELDS} | {"benchmark": inst.benchmark, "onnx": inst.onnx, "vnnlib": inst.vnnlib,
                                              "timeout": inst.timeout * timeout_scale, "expected": inst.expected}
    try:
        ids = []
        for kind, name in (("models", inst.onnx), ("properties", inst.vnnlib)):
            path = inst.folder / name
            if (kind, path) not in uploaded:
                upload = client.upload_model if kind == "models" else client.upload_property
                uploaded[kind, path] = upload(path)["id"]
            ids.append(uploaded[kind, path])
        row["job_id"] = client.submit(*ids, timeout_s=row["timeout"])
        row["status"] = "queued"
    except OSError as exc:
        row |= {"status": REFUSED, "error": f"{exc.filename}: {exc.strerror}"}
    except CertboundError as exc:
        if not exc.is_input_error or exc.status == 401:
            raise
        row |= {"status": REFUSED, "error": exc.message}
    return row


def follow(client: "Client", rows: list[dict[str, Any]], progress: Callable | None) -> None:
    """Poll the queued rows' jobs until every one has finished, filling in their outcomes."""
    total, finished = len(rows), 0

    def done(row: dict[str, Any]) -> None:
        nonlocal finished
        finished += 1
        if progress is not None:
            progress(row, finished, total)

    for row in rows:
        if row["status"] == REFUSED:
            done(row)
    pending = [row for row in rows if row["status"] != REFUSED]
    pauses = poll_pauses()
    while pending:
        running = still_running(client) if len(pending) > FEW else set()
        for row in [row for row in pending if row["job_id"] not in running]:
            job = client.status(row["job_id"])
            if job.finished:
                fill(row, job)
                pending.remove(row)
                done(row)
        if pending:
            time.sleep(next(pauses))


def still_running(client: "Client") -> set[str]:
    """The ids of the owner's queued and running jobs: two listings a round instead of one
    request per job. Queued is listed first, so a job that starts in between is in the
    second list; anything missed is only read once more (its state is read before use)."""
    return {job.id for status in ("queued", "running") for job in client.jobs(status=status, page_size=500)}


def fill(row: dict[str, Any], job: Job) -> None:
    result = job.result or {}
    row |= {"status": job.status, "verdict": job.verdict or "", "error": job.error or "",
            "time_s": "" if job.elapsed_s is None else round(job.elapsed_s, 3),
            "domains": result.get("domains_visited", ""), "correct": score(job.verdict or "", row["expected"])}


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def all_good(rows: list[dict[str, Any]]) -> bool:
    """Every instance's job succeeded and no verdict contradicts expected.csv."""
    return all(row["status"] == "succeeded" and row["correct"] != "WRONG" for row in rows)
