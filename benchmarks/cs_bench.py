"""Verified neural compressed sensing: train decoders, prove them on the whole domain,
and compare with OMP / LASSO on the same A.

For each case: `fit` (train, verify every piece with 2 workers, retrain on the
counterexamples, at most --rounds rounds); the final decoder's whole-domain verification
timed again with 1 worker (the last round's time is the 2-worker figure); the proof
bundle checked by `check_bundle`; OMP / LASSO failure on --baseline-samples admissible x,
and the decoder's answer on the first x they fail on.

    python benchmarks/cs_bench.py --out docs/results/cs_bench.json

prints one Markdown table row per case and writes every figure to --out. CPU (s) is the
pieces' own CPU time summed (the load-independent cost), next to the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from core.compressed_sensing.baselines import failure_rates
from core.compressed_sensing.bundle import check_bundle, write_bundle
from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.domain import verify_domain
from core.compressed_sensing.fit import fit
from core.compressed_sensing.pieces import replay
from core.compressed_sensing.problem import Problem
from core.compressed_sensing.train import default_hidden

CASES = [
    {"n": 10, "m": 6, "k": 2, "measurement": "linear", "hidden": (128, 128), "epochs": 40},
    {"n": 20, "m": 10, "k": 1, "measurement": "binarized", "epochs": 30},
    {"n": 50, "m": 14, "k": 1, "measurement": "binarized", "epochs": 30},
    {"n": 50, "m": 10, "k": 1, "measurement": "linear", "hidden": (128, 128), "epochs": 40, "samples": 8192},
    {"n": 20, "m": 8, "k": 2, "measurement": "linear", "hidden": (192, 192), "epochs": 40, "samples": 8192},
]
# Beyond the ~25-minute run (--cases 5): 1740 pieces.
LARGER = [{"n": 30, "m": 10, "k": 2, "measurement": "linear", "hidden": (256, 256), "epochs": 40, "samples": 8192}]


def run_case(fields: dict, rounds: int, baseline_samples: int, one_worker: bool) -> dict:
    config = CSConfig(**{"lr": 1e-2, "bound_weight": 0.0, "workers": 2, "rounds": rounds, **fields})
    problem = Problem.of(config)
    started, cpu = time.monotonic(), time.process_time()
    fitted = fit(config, problem)
    row = {"config": json.loads(config.model_dump_json()), "pieces": config.pieces,
           "hidden": list(config.hidden or default_hidden(problem)), "fit_s": time.monotonic() - started,
           "fit_cpu_s": time.process_time() - cpu, "rounds": fitted.rounds,
           "verdict": fitted.verification.verdict, "verify_2_workers_s": fitted.verification.elapsed_s,
           "verify_cpu_s": fitted.verification.summary()["cpu_s"],
           "counts": fitted.verification.summary()["counts"], "load": os.getloadavg()[0]}
    if fitted.verification.verdict == "unsat":
        started = time.monotonic()
        row["bundle_check"] = check_bundle(fitted.decoder, write_bundle(fitted.decoder, problem, fitted.verification)) \
            or "valid"
        row["bundle_check_s"] = time.monotonic() - started
        if one_worker:
            again = verify_domain(fitted.decoder, problem, workers=1, piece_timeout_s=config.piece_timeout_s)
            row["verify_1_worker_s"], row["verdict_1_worker"] = again.elapsed_s, again.verdict
            row["verify_1_worker_cpu_s"] = again.summary()["cpu_s"]
    rates = failure_rates(problem, baseline_samples, config.seed)
    row["baselines"] = {key: value for key, value in rates.items() if not key.endswith("_example")}
    for name in ("omp", "lasso"):
        x = rates[f"{name}_example"]
        if x is not None:
            wrong, scores = replay(fitted.decoder, problem, np.asarray(x))
            row[f"{name}_fails_on"] = {"x": x, "network_wrong": wrong}
    return row


def table_row(row: dict) -> str:
    c = row["config"]
    one = f"{row['verify_1_worker_s']:.0f}" if "verify_1_worker_s" in row else "–"
    b = row["baselines"]
    return (f"| {c['n']} | {c['m']} | {c['k']} | {c['measurement']} | {c['m']}-{'-'.join(map(str, row['hidden']))}-{c['n']} "
            f"| {'yes' if row['verdict'] == 'unsat' else 'no (' + row['verdict'] + ')'} | {row['pieces']} "
            f"| {one} | {row['verify_2_workers_s']:.0f} | {row['verify_cpu_s']:.0f} | {100 * b['omp_failure']:.1f}% | {100 * b['lasso_failure']:.1f}% "
            f"| {b['coherence']:.2f} {'yes' if b['coherence_guarantee'] else 'no'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="cs_bench.json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-samples", type=int, default=2000)
    parser.add_argument("--cases", default=",".join(str(i) for i in range(len(CASES))),
                        help=f"indices into CASES, then LARGER (from {len(CASES)})")
    parser.add_argument("--no-one-worker", action="store_true", help="skip the 1-worker timing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print("| n | m | k | measurement | network | verified | pieces | verify 1 worker (s) | 2 workers (s) "
          "| CPU (s) | OMP failure | LASSO failure | coherence, guarantee |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in (int(v) for v in args.cases.split(",")):
        rows.append(run_case((CASES + LARGER)[i], args.rounds, args.baseline_samples, not args.no_one_worker))
        print(table_row(rows[-1]), flush=True)
        with open(args.out, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
