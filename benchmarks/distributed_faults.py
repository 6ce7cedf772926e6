"""SIGKILL a distributed verify job's sub-job worker, again and again: does every job still
end with the right verdict and a valid certificate, and how much time does a kill cost?

    PYTHONPATH=. .venv/bin/python benchmarks/distributed_faults.py acasxu:ACASXU_run2a_4_2_batch_2000:prop_2 \\
        --jobs 5 --kills-per-job 2 --out faults.json

On `certbound serve --workers 2` (heartbeats stale after 6 s, the reaper every 2 s, up to
8 attempts), each job runs with `parallel` 2; while its sub-job runs, its worker process
(and its pool) is SIGKILLed `--kills-per-job` times, `--after` seconds into each attempt.
serve restarts the worker; the reaper re-queues the sub-job, which goes on from its last
frontier snapshot (in a new attempt, or taken over whole by the parent). With `--kind
lemma-part` the kills hit the root's lemma searches instead (a ReLU network with lemmas):
the parent searches a silent share itself. `--clean` jobs
without kills run among the killed ones; the time a kill costs is the killed jobs' mean
wall time less the others', per kill.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from pathlib import Path

from benchmarks.distributed_bench import Serve, descendants, instance_files, summary

FAST = {"CERTBOUND_HEARTBEAT_INTERVAL_S": "1", "CERTBOUND_HEARTBEAT_STALE_S": "6", "CERTBOUND_REAPER_INTERVAL_S": "2",
        "CERTBOUND_MAX_ATTEMPTS": "8"}


def kill_worker(serve: Serve, worker_name: str) -> bool:
    """SIGKILL the worker process `worker_name` names (certbound-<pid>@host) and its pool."""
    pid = int(worker_name.split("-", 1)[1].split("@", 1)[0])
    family = [pid] + descendants(pid)
    for each in family:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return True


PHASE = {"verify-part": "bab", "lemma-part": "lemmas"}  # a sub-job's working phase, by kind


def run_with_kills(serve: Serve, model: str, prop: str, timeout: float, kills: int, after: float,
                   config: dict, kind: str = "verify-part") -> dict:
    job_id = serve.http.post("/jobs", json={"kind": "verify", "model_id": model, "property_id": prop,
                                            "timeout_s": timeout,
                                            "config": {"threads": 1, "parallel": 2, **config}}).json()["id"]
    done, seen = [], set()
    while True:
        job = serve.http.get(f"/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        if len(done) < kills:
            kids = [j for j in serve.http.get("/jobs", params={"kind": kind, "limit": 100}).json()["items"]
                    if j.get("parent_id") == job_id and j["status"] == "running" and j["started_at"]]
            for kid in kids:
                key = (kid["id"], kid["attempts"])
                if key in seen:
                    continue
                # in its search (not a new attempt still showing the last one's progress)
                progress = kid["progress"] or {}
                if progress.get("phase") == PHASE[kind] and (progress.get("elapsed_s") or 0) >= after:
                    seen.add(key)
                    kill_worker(serve, kid["worker"])
                    done.append({"sub_job": kid["id"], "attempt": kid["attempts"], "at_s": progress["elapsed_s"],
                                 "visited": progress.get("domains_visited")})
                    break
        time.sleep(0.2)
    job = serve.finished(job_id)
    return {**summary(job), "kills": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance")
    parser.add_argument("--jobs", type=int, default=5, help="jobs with kills")
    parser.add_argument("--clean", type=int, default=2, help="jobs without kills, run between the others")
    parser.add_argument("--kills-per-job", type=int, default=2)
    parser.add_argument("--after", type=float, default=8.0, help="seconds into a sub-job attempt before its kill")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--config", type=json.loads, default={}, help="more job config, JSON")
    parser.add_argument("--kind", choices=sorted(PHASE), default="verify-part", help="the sub-jobs whose workers die")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        serve = Serve(2, Path(tmp), FAST)
        try:
            net, prop = instance_files(args.instance)
            model, prop_id = serve.upload("models", net), serve.upload("properties", prop)
            plan = [args.kills_per_job] * args.jobs
            for k in range(args.clean):  # spread among the killed ones
                plan.insert(1 + k * (len(plan) // max(1, args.clean)), 0)
            for k, kills in enumerate(plan):
                row = {"instance": args.instance, "job": k,
                       **run_with_kills(serve, model, prop_id, args.timeout, kills, args.after, args.config, args.kind),
                       "load": os.getloadavg()[0]}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            serve.stop()
    killed = [r for r in rows if r["kills"]]
    clean = [r for r in rows if not r["kills"]]
    kills = sum(len(r["kills"]) for r in killed)
    report = {"kills": kills, "jobs": len(rows),
              "all_right": all(r["verdict"] == clean[0]["verdict"] and r["check_valid"] for r in rows),
              "mean_wall_killed_s": sum(r["wall_s"] for r in killed) / max(1, len(killed)),
              "mean_wall_clean_s": sum(r["wall_s"] for r in clean) / max(1, len(clean))}
    report["lost_per_kill_s"] = (report["mean_wall_killed_s"] - report["mean_wall_clean_s"]) * len(killed) / max(1, kills)
    print(json.dumps(report))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "report": report}, indent=1))


if __name__ == "__main__":
    main()
