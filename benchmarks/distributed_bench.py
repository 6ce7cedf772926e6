"""Distributed verify jobs against one job: wall time with `parallel` 1 and N on `certbound
serve --workers N`, side by side (alternating, the order swapped each round), one thread
per worker. For each run: the verdict, the certificate's check, domains, the wall time
(started -> finished) and the CPU seconds the worker processes spent meanwhile (from
/proc), so that figures taken on a shared machine can be normalised by the CPU each
setting actually got.

    PYTHONPATH=. .venv/bin/python benchmarks/distributed_bench.py --workers 2 --rounds 1 \\
        acasxu:ACASXU_run2a_4_2_batch_2000:prop_2 --out distributed.json

An instance is BENCH:NETWORK:PROPERTY, names under ../shared/benchmarks/BENCH/{onnx,vnnlib}
(without .onnx.gz / .vnnlib.gz), or NET_PATH::PROP_PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CERTBOUND_SHARED_DIR", REPO.parent / "shared"))


def descendants(pid: int) -> list[int]:
    children = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    out, unvisited = [], [pid]
    while unvisited:
        for child in children.get(unvisited.pop(), []):
            out.append(child)
            unvisited.append(child)
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (their exited children's are in cutime, counted too)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


class Serve:
    """`certbound serve --workers N` on a fresh data directory and a free port."""

    def __init__(self, workers: int, workdir: Path, settings: dict[str, str] | None = None) -> None:
        log = open(workdir / "serve.log", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTBOUND_") or k == "CERTBOUND_SHARED_DIR"}
        env.update(settings or {})
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "certbound"), "serve", "--port", "0",
                                         "--workers", str(workers), "--data-dir", str(workdir / "data")],
                                        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.log = workdir / "serve.log"
        deadline = time.monotonic() + 120
        while not re.search(r"dashboard: (\S+)/ ", self.log.read_text()):
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.3)
        text = self.log.read_text()
        self.base = re.search(r"dashboard: (\S+)/ ", text).group(1) + "/api/v1"
        self.token = re.search(r"owner token \(shown once.*?\): (\S+)", text).group(1)
        self.http = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
        while len(self.http.get("/healthz").json()["workers"]) < workers:
            assert time.monotonic() < deadline, "workers not ready"
            time.sleep(0.5)

    def upload(self, kind: str, path: Path) -> str:
        with open(path, "rb") as handle:
            response = self.http.post(f"/{kind}", files={"file": (path.name, handle)})
        response.raise_for_status()
        return response.json()["id"]

    def run(self, model: str, prop: str, timeout_s: float, config: dict) -> dict:
        """Submit, wait, and return the job with `wall_s` and `cpu_s` added."""
        pids = descendants(self.process.pid)
        cpu0 = cpu_seconds(pids)
        job_id = self.http.post("/jobs", json={"kind": "verify", "model_id": model, "property_id": prop,
                                               "timeout_s": timeout_s, "config": config}).json()["id"]
        job = self.finished(job_id)
        job["cpu_s"] = cpu_seconds(pids) - cpu0
        return job

    def finished(self, job_id: str) -> dict:
        """Wait for the job to end; it with `wall_s` (started -> finished) and its `sub_jobs`."""
        while (job := self.http.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.5)
        job.setdefault("cpu_s", 0.0)
        started = datetime.fromisoformat(job["started_at"].rstrip("Z"))
        finished = datetime.fromisoformat(job["finished_at"].rstrip("Z"))
        job["wall_s"] = (finished - started).total_seconds()
        kids = [j for kind in ("lemma-part", "verify-part", "check-part")
                for j in self.http.get("/jobs", params={"kind": kind, "limit": 100}).json()["items"]
                if j.get("parent_id") == job_id]
        job["sub_jobs"] = [{"id": k["id"], "kind": k["kind"], "status": k["status"], "verdict": k["verdict"],
                            "attempts": k["attempts"], "domains": (k["result"] or {}).get("domains_visited")}
                           for k in kids]
        return job

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)


def instance_files(spec: str) -> tuple[Path, Path]:
    """BENCH:NETWORK:PROPERTY under ../shared/benchmarks, or NET_PATH::PROP_PATH."""
    if "::" in spec:
        net, prop = spec.split("::")
        return Path(net), Path(prop)
    bench, net, prop = spec.split(":")
    return SHARED / "benchmarks" / bench / "onnx" / f"{net}.onnx.gz", \
        SHARED / "benchmarks" / bench / "vnnlib" / f"{prop}.vnnlib.gz"


def summary(job: dict) -> dict:
    result = job.get("result") or {}
    return {"verdict": job["verdict"], "status": job["status"], "wall_s": round(job["wall_s"], 2),
            "cpu_s": round(job["cpu_s"], 2), "domains": result.get("domains_visited"),
            "check_valid": (result.get("check") or {}).get("valid"),
            "check_s": round((result.get("check") or {}).get("time_s") or 0, 2),
            "elapsed_s": result.get("elapsed_s"), "sub_jobs": job["sub_jobs"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", nargs="+")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the service's data (database, logs) in this new folder")
    parser.add_argument("--config", type=json.loads, default={},
                        help='more job config for both settings, JSON (e.g. \'{"search_before_lemmas": 0}\')')
    parser.add_argument("--parallel", type=int, nargs="+", help="the settings to run (default: 1 and --workers)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting for the serve process (e.g. CERTBOUND_MAX_UPLOAD_BYTES=400000000 "
                             "for tllverifybench N=64, over the default upload limit)")
    args = parser.parse_args()
    settings = args.parallel or [1, args.workers]
    rows = []
    if args.keep:
        args.keep.mkdir(parents=True)
    with tempfile.TemporaryDirectory() if args.keep is None else contextlib.nullcontext(args.keep) as tmp:
        serve = Serve(args.workers, Path(tmp), dict(setting.split("=", 1) for setting in args.setting))
        try:
            for spec in args.instances:
                net, prop = instance_files(spec)
                model, prop_id = serve.upload("models", net), serve.upload("properties", prop)
                for k in range(args.rounds):
                    order = settings if k % 2 == 0 else settings[::-1]
                    for parallel in order:
                        job = serve.run(model, prop_id, args.timeout, {**args.config, "threads": 1, "parallel": parallel})
                        row = {"instance": spec, "parallel": parallel, "round": k, **summary(job),
                               "load": os.getloadavg()[0]}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
        finally:
            serve.stop()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
