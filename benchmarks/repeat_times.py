"""Per-instance CPU time, repeated in one warm process: the before/after check of a change
(issue 29: "no instance more than 10% slower").

    PYTHONPATH=TREE python benchmarks/repeat_times.py ../shared/benchmarks/acasxu \
        [--filter REGEX] [--expected sat] [--reps 3] [--out times.csv] [--config JSON] [--timeout S] [--no-warmup]

Run it once in each commit's tree (a `git archive` or worktree), side by side, each pinned to
a core of its own (`taskset -c 0` and `taskset -c 1`, swapped for a second round): every
instance is loaded once, run once to warm up, then `--reps` times; CPU seconds
(`time.process_time`) are less sensitive than wall time to what else runs. One thread, the
instance's own timeout, no certificate. Per run: verdict, domains, CPU and wall seconds.
`--config` sets engine settings (an A/B of one setting in one tree: run it once with each
value), `--timeout` replaces the instances' own, `--no-warmup` skips the warm-up run (for
instances that take minutes, where a warm-up costs more than the spread it removes).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--filter", default="", help="regex on benchmark/onnx/vnnlib")
    parser.add_argument("--expected", help="only instances with this expected answer (sat, unsat)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("times.csv"))
    parser.add_argument("--config", type=json.loads, default={}, help="engine settings, JSON")
    parser.add_argument("--timeout", type=float, help="seconds per run (default: the instance's)")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()

    import torch

    from core.commands.bench import read_instances
    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import verify

    torch.set_num_threads(1)
    instances = [i for i in read_instances(args.folder)
                 if re.search(args.filter, i.key) and args.expected in (None, i.expected)]
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instance", "rep", "verdict", "domains", "cpu_s", "wall_s"])
        for inst in instances:
            network, prop = load_network(inst.folder / inst.onnx), load_property(inst.folder / inst.vnnlib)
            for rep in range(int(args.no_warmup), args.reps + 1):  # rep 0 warms up
                cpu, wall = time.process_time(), time.monotonic()
                config = VerifyConfig(timeout_s=args.timeout or inst.timeout, threads=1, **args.config)
                result = verify(network, prop, config)
                writer.writerow([inst.key, rep, result.verdict.value, result.domains_visited,
                                 round(time.process_time() - cpu, 4), round(time.monotonic() - wall, 4)])
                handle.flush()
            print(inst.key, result.verdict.value, file=sys.stderr)


if __name__ == "__main__":
    main()
