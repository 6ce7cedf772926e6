"""Chaos: SIGKILL workers and serve while a job runs; no job may be lost, stuck or change verdict.

Each round queues a job that runs for several seconds (and a quick one behind it), waits
until the first is running, SIGKILLs a worker (with its pool) or the serve process, and
measures the time from the kill until the job runs again (or has finished) on a new
worker. Embedded, serve restarts its worker; scaled out, the harness starts a new worker
at once, as systemd would. After a serve kill the harness starts serve again on the same
data directory and port, and counts the worker processes of the dead serve still alive 5 s
later (orphans: they keep consuming the broker).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from benchmarks.reliability.common import LONG, QUICK, TERMINAL, read_job, submit, summary, upload_pair, wait_jobs
from benchmarks.reliability.deployment import Deployment, alive, kill_pids

ORPHAN_GRACE_S = 5.0


def _wait_running(client, job_id: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = read_job(client, job_id)
        if job is not None and job["status"] != "queued":
            return job
        time.sleep(0.05)
    return None


def _wait_recovered(deployment: Deployment, job_id: str, attempts_before: int, since: float, killed_wall: datetime,
                    timeout: float) -> tuple[float | None, dict[str, Any] | None]:
    """Seconds from `since` until the job runs again under a later attempt, or has finished
    (None if that does not happen within `timeout`); and what the job showed of the killed
    attempt once re-queued, if anything: queued, a job has no started_at and no progress;
    running again, its started_at is after the kill."""
    stale = None
    with deployment.client(timeout=5) as client:
        while time.monotonic() - since < timeout:
            job = read_job(client, job_id)
            if job is None:
                time.sleep(0.1)
                continue
            if stale is None and job["status"] == "queued" and _shows_old_attempt(job):
                stale = {k: job[k] for k in ("status", "started_at", "progress")}
            running_again = job["status"] == "running" and job["attempts"] > attempts_before
            if running_again or job["status"] in TERMINAL:
                if stale is None and running_again and job["started_at"] and \
                        datetime.fromisoformat(job["started_at"].replace("Z", "+00:00")) < killed_wall:
                    stale = {k: job[k] for k in ("status", "started_at", "progress")}
                return time.monotonic() - since, stale
            time.sleep(0.1)
    return None, stale


def _shows_old_attempt(job: dict[str, Any]) -> bool:
    progress = job.get("progress") or {}
    return bool(job["started_at"] or progress.get("elapsed_s") or progress.get("domains_visited"))


def _round(deployment: Deployment, client, round_index: int, target: str, long_ids: tuple[str, str],
           quick_ids: list, expected: dict[str, str], kill_after_s: float, job_timeout_s: float,
           recovery_timeout_s: float) -> dict[str, Any]:
    """One kill: queue the long job and a quick one behind it, kill `target` mid-job, wait for recovery."""
    response = submit(client, *long_ids, timeout_s=job_timeout_s)
    response.raise_for_status()
    victim = response.json()["id"]
    expected[victim] = LONG[2]
    (model_id, property_id), verdict = quick_ids[round_index % len(quick_ids)]
    behind = submit(client, model_id, property_id, timeout_s=job_timeout_s)
    behind.raise_for_status()
    expected[behind.json()["id"]] = verdict
    if _wait_running(client, victim, timeout=recovery_timeout_s) is None:
        return {"round": round_index, "target": target, "error": "the job to kill never started"}
    time.sleep(kill_after_s)
    job = read_job(client, victim)
    running = job is not None and job["status"] == "running"
    attempts = job["attempts"] if job else 0
    event: dict[str, Any] = {"round": round_index, "target": target, "mid_job": running}
    killed_at, killed_wall = time.monotonic(), datetime.now(timezone.utc)
    if target == "worker":
        deployment.kill_worker()
    else:
        workers_before = deployment.worker_tree()
        deployment.kill_serve()
        time.sleep(max(0.0, ORPHAN_GRACE_S - (time.monotonic() - killed_at)))
        left = [pid for pid in workers_before if alive(pid)] if deployment.backend == "embedded" else []
        event["orphans"] = left
        kill_pids(left)  # they are ours; the next serve could not start its worker
        deployment.start_serve()
        deployment.wait_ready(workers=deployment.n_workers)
        event["api_back_s"] = time.monotonic() - killed_at
    recovered, stale = _wait_recovered(deployment, victim, attempts, killed_at, killed_wall, recovery_timeout_s)
    if stale is not None:
        event["stale_attempt_shown"] = stale
    event["recovery_s"] = recovered
    return event


def run_chaos(deployment: Deployment, worker_kills: int = 2, serve_kills: int = 0, *, kill_after_s: float = 1.0,
              job_timeout_s: float = 120.0, recovery_timeout_s: float = 120.0, finish_timeout_s: float = 240.0) -> dict[str, Any]:
    """Kill `worker_kills` workers and then `serve_kills` times serve, each mid-job; the figures."""
    if deployment.serve is None:
        raise RuntimeError("chaos needs a local deployment (it kills processes)")
    expected: dict[str, str] = {}
    recoveries: list[float] = []
    api_back: list[float] = []
    mid_job = orphans = stale_starts = 0
    events: list[dict[str, Any]] = []
    with deployment.client() as client:
        long_ids = upload_pair(client, LONG[0], LONG[1])
        quick_ids = [(upload_pair(client, m, p), verdict) for m, p, verdict in QUICK]
    plan = ["worker"] * worker_kills + ["serve"] * serve_kills
    for round_index, target in enumerate(plan):
        # A client per round: a serve kill leaves the previous one's connections dead.
        with deployment.client() as client:
            event = _round(deployment, client, round_index, target, long_ids, quick_ids, expected, kill_after_s,
                           job_timeout_s, recovery_timeout_s)
        events.append(event)
        mid_job += event.get("mid_job", False)
        orphans += len(event.get("orphans", []))
        stale_starts += "stale_attempt_shown" in event
        if event.get("recovery_s") is not None:
            recoveries.append(event["recovery_s"])
        if event.get("api_back_s") is not None:
            api_back.append(event["api_back_s"])
    with deployment.client() as client:
        final = wait_jobs(client, list(expected), timeout=finish_timeout_s)
    lost = [job_id for job_id, job in final.items() if job is None or job["status"] in ("failed", "cancelled")]
    stuck = [job_id for job_id, job in final.items() if job is not None and job["status"] not in TERMINAL]
    changed = [job_id for job_id, job in final.items()
               if job is not None and job["status"] == "succeeded" and job["verdict"] != expected[job_id]]
    times = summary(recoveries)
    return {"backend": deployment.backend, "worker_kills": worker_kills, "serve_kills": serve_kills,
            "mid_job_kills": mid_job, "jobs": len(expected), "lost": len(lost), "stuck": len(stuck),
            "verdict_changed": len(changed), "unrecovered": len(plan) - len(recoveries), "orphans": orphans,
            "stale_attempt_shown": stale_starts,
            "recovery_median_s": times["median"], "recovery_max_s": times["max"],
            "api_back_max_s": max(api_back) if api_back else None,
            "detail": {"events": events, "lost": {j: final[j] and {k: final[j][k] for k in ("status", "error", "attempts")}
                                                  for j in lost},
                       "stuck": stuck, "changed": {j: final[j]["verdict"] for j in changed}}}
