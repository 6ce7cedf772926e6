"""Learned branching against the hand-made rules, side by side (docs/results/branching.md).

Per network, held-out robustness properties from MNIST test images (correctly classified
ones, from index --start on) are verified with FSB first; those FSB answers without
branching (sat, closed in fewer than --min-domains domains, or with less than
--min-search-share of its time spent after the first branch) are left out, and the rest
are verified with every other rule right after, instance by instance, so load drifts hit
all rules alike (`fsb-gains`: FSB with `split_score="gains"`; `--rule NAME=JSON` adds a
rule by its config fields, e.g. a GNN with `gnn_candidates`).
One thread; lemmas off (their searches are a fixed count of domains under any rule).

    CERTBOUND_SHARED_DIR=../shared PYTHONPATH=. .venv/bin/python benchmarks/branching_bench.py \\
        --net fc2x64=NETS/fc2x64.onnx:0.06 --gnn plain=PLAIN.brancher --gnn lookback=LOOKBACK.brancher \\
        --instances 6 --timeout 30 --out results.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path

import torch

from core.bab.learned.brancher import GnnChooser
from core.bab.learned.properties import robustness_properties
from core.config import VerifyConfig
from core.model import load_network
from core.verifier import verify

HAND_MADE = {"fsb": {"relu_heuristic": "fsb"}, "fsb-gains": {"relu_heuristic": "fsb", "split_score": "gains"},
             "babsr": {"relu_heuristic": "babsr"}, "upb": {"relu_heuristic": "upb"}}


def config_for(rule: str, rules: dict[str, dict], timeout: float) -> VerifyConfig:
    return VerifyConfig(timeout_s=timeout, device="cpu", threads=1, lemma_domains=0, **rules[rule])


def run(network, prop, rule: str, rules: dict[str, dict], timeout: float) -> dict:
    before = dict(GnnChooser.totals)
    started = time.monotonic()
    result = verify(network, prop, config_for(rule, rules, timeout))
    wall = time.monotonic() - started
    first = result.stats.get("marks", {}).get("first_branch")
    row = {"rule": rule, "verdict": result.verdict.value, "domains": result.domains_visited, "time_s": round(wall, 3),
           "search_s": round(wall - first, 3) if first is not None else "", "first_branch_s": first or ""}
    spent = {k: GnnChooser.totals[k] - before[k] for k in before}
    if spent["calls"]:
        row.update(gnn_ms_per_call=round(1000 * spent["seconds"] / spent["calls"], 2),
                   gnn_us_per_domain=round(1e6 * spent["seconds"] / max(spent["decisions"], 1), 1),
                   fallback_share=round(spent["fallbacks"] / max(spent["decisions"], 1), 3),
                   overruled_share=round(spent["overruled"] / max(spent["decisions"], 1), 3))
    return row


def search_share(row: dict) -> float:
    """The share of a run's time spent after its first branch (0 when it never branched)."""
    return row["search_s"] / row["time_s"] if row["search_s"] != "" and row["time_s"] > 0 else 0.0


def summarise(rows: list[dict], rules: list[str]) -> list[str]:
    """A markdown table per network: solved, domains and time, median ratios to FSB."""
    lines = []
    for net in dict.fromkeys(r["net"] for r in rows):
        mine = [r for r in rows if r["net"] == net]
        instances = list(dict.fromkeys(r["instance"] for r in mine))
        by = {(r["instance"], r["rule"]): r for r in mine}
        lines += [f"\n{net}: {len(instances)} instances that need branching\n",
                  "| rule | solved | domains (total) | time s (total) | median domains / FSB | median time / FSB "
                  "| median search time / FSB | GNN ms per call |", "|---|---|---|---|---|---|---|---|"]
        for rule in rules:
            solved = [i for i in instances if by.get((i, rule), {}).get("verdict") == "unsat"]
            both = [i for i in solved if by[(i, "fsb")]["verdict"] == "unsat" and by[(i, "fsb")]["domains"] > 0]
            ratio = lambda key: (statistics.median(by[(i, rule)][key] / by[(i, "fsb")][key] for i in both  # noqa: E731
                                                   if by[(i, "fsb")][key] not in ("", 0))
                                 if both else float("nan"))
            calls = [by[(i, rule)].get("gnn_ms_per_call") for i in instances if by.get((i, rule), {}).get("gnn_ms_per_call")]
            lines.append(f"| {rule} | {len(solved)}/{len(instances)} | {sum(by[(i, rule)]['domains'] for i in instances)} "
                         f"| {sum(by[(i, rule)]['time_s'] for i in instances):.1f} | {ratio('domains'):.2f} "
                         f"| {ratio('time_s'):.2f} | {ratio('search_s'):.2f} "
                         f"| {statistics.mean(calls) if calls else float('nan'):.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", action="append", required=True, help="NAME=PATH:EPS")
    parser.add_argument("--gnn", action="append", default=[], help="NAME=BRANCHER_FILE")
    parser.add_argument("--rule", action="append", default=[], help="NAME=JSON: a rule by its VerifyConfig fields")
    parser.add_argument("--skip", action="append", default=[], help="a hand-made rule left out (e.g. upb)")
    parser.add_argument("--min-domains", type=int, default=1, help="keep instances FSB needs at least this many for")
    parser.add_argument("--min-search-share", type=float, default=0.0,
                        help="keep instances where FSB spends at least this share of its time after the first branch "
                             "(or runs out of time): those where the branching rule decides the time")
    parser.add_argument("--instances", type=int, default=6, help="per network, instances that need branching")
    parser.add_argument("--scan", type=int, default=30, help="per network, test images tried at most")
    parser.add_argument("--start", type=int, default=0, help="first test image index")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("branching_bench.csv"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    by_name = dict(HAND_MADE)
    by_name.update({name: {"relu_heuristic": "gnn", "brancher": path}
                    for name, path in (spec.split("=", 1) for spec in args.gnn)})
    by_name.update({name: json.loads(fields) for name, fields in (spec.split("=", 1) for spec in args.rule)})
    rules = [rule for rule in by_name if rule not in args.skip]
    rows = []
    print(f"load average at start: {os.getloadavg()}")
    for spec in args.net:
        name, rest = spec.split("=", 1)
        path, eps = rest.rsplit(":", 1)
        network = load_network(path)
        kept = 0
        for label, prop in robustness_properties(network, "test", float(eps), args.scan, args.start):
            if kept >= args.instances:
                break
            first = run(network, prop, "fsb", by_name, args.timeout)
            if first["verdict"] == "sat" or (first["verdict"] == "unsat" and (
                    first["domains"] < args.min_domains or search_share(first) < args.min_search_share)):
                print(f"{name} {label}: fsb {first['verdict']} {first['domains']} domains, "
                      f"{search_share(first):.0%} of {first['time_s']} s searching: not kept", flush=True)
                continue
            kept += 1
            for rule in rules:
                row = first if rule == "fsb" else run(network, prop, rule, by_name, args.timeout)
                row.update(net=name, instance=label, load=round(os.getloadavg()[0], 2))
                rows.append(row)
                print(row, flush=True)
    fields = ["net", "instance", "rule", "verdict", "domains", "time_s", "search_s", "first_branch_s", "load",
              "gnn_ms_per_call", "gnn_us_per_domain", "fallback_share", "overruled_share"]
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print("\n".join(summarise(rows, rules)))
    if len(args.net) > 1:
        print("\n".join(summarise([dict(row, net="all", instance=f"{row['net']}/{row['instance']}") for row in rows],
                                   rules)))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
