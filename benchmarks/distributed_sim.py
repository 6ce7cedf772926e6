"""Predict a distributed verify job's speed-up on N workers from one real run's log.

    PYTHONPATH=. .venv/bin/python benchmarks/distributed_sim.py log acasxu:ACASXU_run2a_4_2_batch_2000:prop_2 \\
        --out run.json                       # one real run, every batch boundary logged
    PYTHONPATH=. .venv/bin/python benchmarks/distributed_sim.py predict run.json --workers 1 2 8 16 64

`log` runs the instance in this process the way a distributed job's parent and holders
do (core.verifier.parallel: root phase, grow, then the holder's search) on one thread,
and records at every batch boundary the time, the open frontier and the domains visited;
then it builds the certificate and times the whole check and the split check (2 parts).

`predict` replays that log with N workers. The model (its assumptions):
- the search tree is the same with any number of workers (a domain's bound and split
  depend only on the domain and its ancestors, true of both searches here), so the work
  is the logged batches' work, redistributed;
- a batch of s domains costs a + b*s seconds (least squares over the logged batches):
  `a` is the per-step overhead that small batches pay more often;
- at logged batch i the open frontier F_i bounds the parallelism: min(N, F_i) workers are
  busy, each on batches of s = min(b_i, F_i / busy) domains; work stealing is ideal but
  for `steal_s` per worker and hand-over (one poll interval and one batch) and a first
  hand-over of `startup_s` (a sub-job starting: loading the network);
- the root phase (attack, CROWN, alpha, lemmas, growing the frontier) is serial;
- the certificate check splits N ways but for the part every part repeats (the tree's
  shape): measured from the 1- and 2-part checks (Amdahl).
The saturation point is the smallest N whose speed-up is within 10% of 1024 workers'.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks.distributed_bench import instance_files

POLL_S = 0.5  # worker.distributed.POLL_EVERY_S: how often a busy holder looks for requests


def log_run(spec: str, timeout: float) -> dict:
    from core.certificate.split import check_split
    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier.certify import certificate_of
    from core.verifier.parallel import Holder, root_phase, start
    import gzip

    net_path, prop_path = instance_files(spec)
    network, prop = load_network(gzip.open(net_path).read()), load_property(prop_path.read_bytes())
    run = start(network, prop, VerifyConfig(threads=1, timeout_s=timeout), timeout, None)
    started = time.monotonic()
    batches: list[tuple[float, int, int]] = []
    holder = Holder(run, "log")
    with run.budget:
        decided = root_phase(run)
        assert decided is None, f"{spec}: decided before branch and bound ({decided})"
        assert holder.grow(1) is None
        root_s = time.monotonic() - started
        status, why = holder.search(lambda s: batches.append((time.monotonic() - started, holder.open_domains(),
                                                               holder.visited)))
    search_end = time.monotonic() - started
    batches.append((search_end, 0, holder.visited))
    from core.verifier.parallel import merged_result

    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        blobs[hashlib.sha256(data).hexdigest()] = data
        return hashlib.sha256(data).hexdigest()

    result = merged_result(run, {"log": holder.snapshot(put)}, blobs.__getitem__)
    certificate = certificate_of(network, prop, result)
    data = gzip.open(net_path).read()
    one, two = check_split(data, prop, certificate, 1), check_split(data, prop, certificate, 2)
    return {"instance": spec, "status": status, "verdict": result.verdict.value, "root_s": root_s,
            "search_end_s": search_end, "batches": batches, "check_1_s": one.time_s, "check_2_s": two.time_s,
            "check_valid": one.valid and two.valid}


def fit_cost(batches: list) -> tuple[float, float, list[tuple[float, int, int]]]:
    """(a, b) of a + b*s per batch of s domains, and the batches as (seconds, domains, frontier)."""
    rows = []
    for (t0, open0, v0), (t1, _, v1) in zip(batches, batches[1:]):
        popped = max(1, (v1 - v0) // 2)
        rows.append((t1 - t0, popped, max(open0, 1)))
    dt = np.array([r[0] for r in rows])
    size = np.array([r[1] for r in rows], float)
    A = np.stack([np.ones_like(size), size], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, dt, rcond=None)
    a, b = max(float(a), 0.0), max(float(b), 1e-9)
    return a, b, rows


def predict(log: dict, workers: int, steal_s: float, startup_s: float) -> dict:
    a, b, rows = fit_cost(log["batches"])
    search = 0.0
    steals = 0
    for _, popped, frontier in rows:
        busy = min(workers, frontier)
        size = max(1.0, min(popped, frontier / busy))
        search += popped * (a + b * size) / (busy * size)
    if workers > 1:
        # each hand-over: the thief idles a poll interval plus the giver's batch; about
        # log2(frontier) rounds of halving reach every worker, again each time a share runs dry
        mean_batch = float(np.mean([a + b * r[1] for r in rows]))
        steals = workers * max(1, int(math.log2(max(2, np.median([r[2] for r in rows])))))
        search += startup_s + steals / workers * (steal_s or POLL_S / 2 + mean_batch)
    share = max(0.0, 2 * log["check_2_s"] / log["check_1_s"] - 1) if log["check_1_s"] > 0 else 0.0
    check = log["check_1_s"] * (share + (1 - share) / workers)
    total = log["root_s"] + search + check
    return {"workers": workers, "root_s": log["root_s"], "search_s": search, "check_s": check, "total_s": total,
            "steals": steals, "a": a, "b": b, "check_repeated_share": share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("log")
    one.add_argument("instance")
    one.add_argument("--timeout", type=float, default=600)
    one.add_argument("--out", type=Path, required=True)
    two = sub.add_parser("predict")
    two.add_argument("log", type=Path)
    two.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8, 16, 64])
    two.add_argument("--steal-s", type=float, default=0.0, help="seconds per hand-over (default: a poll/2 + a batch)")
    two.add_argument("--startup-s", type=float, default=2.0, help="a sub-job's start (loading the network)")
    two.add_argument("--check-s", type=float, nargs=2, metavar=("WHOLE", "SPLIT2"),
                     help="the whole and the 2-part check's times measured elsewhere (else the log's)")
    args = parser.parse_args()
    if args.command == "log":
        data = log_run(args.instance, args.timeout)
        args.out.write_text(json.dumps(data))
        print(json.dumps({k: v for k, v in data.items() if k != "batches"} | {"batches": len(data["batches"])}))
        return
    log = json.loads(args.log.read_text())
    if args.check_s:
        log["check_1_s"], log["check_2_s"] = args.check_s
    base = predict(log, 1, args.steal_s, args.startup_s)["total_s"]
    limit = base / predict(log, 1024, args.steal_s, args.startup_s)["total_s"]
    saturation = next((n for n in (2 ** k for k in range(11))
                       if base / predict(log, n, args.steal_s, args.startup_s)["total_s"] >= 0.9 * limit), 1024)
    for n in args.workers:
        p = predict(log, n, args.steal_s, args.startup_s)
        print(json.dumps({**{k: round(v, 3) if isinstance(v, float) else v for k, v in p.items()},
                          "speedup": round(base / p["total_s"], 2)}))
    print(json.dumps({"instance": log["instance"], "limit_speedup": round(limit, 2), "saturates_at": saturation,
                      "batches": len(log["batches"]), "root_s": round(log["root_s"], 2),
                      "search_s": round(log["search_end_s"] - log["root_s"], 2)}))


if __name__ == "__main__":
    main()
