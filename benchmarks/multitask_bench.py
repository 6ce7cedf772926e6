"""Multi-task benchmark: unitary scalarization (+ regularisation) against the multi-task optimisers.

Two settings, each over several seeds: Multi-MNIST (left and right digit, clean
cross-entropy per head) and robust MNIST at three radii (IBP training per ε, a head per
ε). Every (setting, combiner, seed) trains in a fresh Python process, so the peak resident
memory it reports (VmHWM, core/training/multitask/memory.py) is that run's alone; one
torch thread each, one run at a time.

    OMP_NUM_THREADS=1 python benchmarks/multitask_bench.py --data ../shared/datasets/mnist.npz \
        --seeds 0 1 2 --out multitask-runs.json

prints a markdown table per setting (mean ± standard deviation over seeds); `--tables FILE`
prints them again from the runs saved by --out. Figures: docs/results/multitask.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMBINERS = ("unitary", "unitary+reg", "mgda-ub", "pcgrad", "graddrop", "imtl-g", "cagrad", "rlw")
REGULARISED = {"weight_decay": 1e-4, "dropout": 0.1, "early_stopping": 1, "val_fraction": 0.1}
# What each setting trains on: the first `train_subset` MNIST training images, for `epochs` epochs.
SETTINGS = {
    "multi-mnist": {"dataset": "multi-mnist", "epochs": 3, "train_subset": 10000},
    "robust-mnist": {"dataset": "mnist", "method": "ibp", "tasks": [{"eps": 0.05}, {"eps": 0.1}, {"eps": 0.2}],
                     "warmup_epochs": 0, "ramp_epochs": 1, "epochs": 2, "train_subset": 6000},
}


def config_fields(setting: str, combiner: str, seed: int, args: argparse.Namespace) -> dict:
    fields = {"arch": args.arch, "batch_size": args.batch_size, "lr": args.lr, "test_subset": args.test_subset,
              "eval_crown_subset": args.crown_subset, "device": "cpu", "seed": seed, "data": args.data,
              **SETTINGS[setting]}
    if combiner == "unitary+reg":
        return {**fields, **REGULARISED, "combiner": "unitary"}
    return {**fields, "combiner": combiner}


def run_one(fields: dict) -> dict:
    """Train once in this process; the report as a dict."""
    import torch

    from core.training.multitask.config import MultiTaskConfig
    from core.training.multitask.trainer import train_multitask

    torch.set_num_threads(1)
    return train_multitask(MultiTaskConfig(**fields)).report.to_dict()


def run_fresh(fields: dict) -> dict:
    """`run_one` in a new interpreter (its own peak memory)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps(fields)], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"run {fields} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stat(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    if not values:
        return "-"
    mean = statistics.mean(values) * scale
    spread = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def table(runs: list[dict], setting: str) -> str:
    """Markdown table of one setting: per-task figures and costs, mean ± sd over seeds."""
    rows = [r for r in runs if r["setting"] == setting]
    tasks = rows[0]["report"]["tasks"]
    robust = tasks[0]["eps"] > 0
    heads = [f"{t['label']} ε={t['eps']:g}" if robust else t["label"] for t in tasks]
    figure = "IBP / CROWN verified % (clean %)" if robust else "accuracy %"
    header = ["combiner", *[f"{h}: {figure}" for h in heads], "epoch s (wall)", "step ms (wall)", "train CPU s",
              "peak RSS MB", "combiner extra MB", "epochs run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for combiner in COMBINERS:
        mine = [r["report"] for r in rows if r["combiner"] == combiner]
        if not mine:
            continue
        cells = [combiner]
        for k in range(len(tasks)):
            per = [m["tasks"][k] for m in mine]
            if robust:
                cells.append(f"{_stat([p['ibp_verified'] for p in per])} / {_stat([p['crown_verified'] for p in per])}"
                             f" ({_stat([p['accuracy'] for p in per])})")
            else:
                cells.append(_stat([p["accuracy"] for p in per]))
        cells += [_stat([m["epoch_s"] for m in mine], 1, 2), _stat([m["step_s"] for m in mine], 1000, 1),
                  _stat([m["train_cpu_s"] for m in mine], 1, 1), _stat([m["peak_rss_mb"] for m in mine], 1, 0),
                  _stat([m["combiner_extra_mb"] for m in mine], 1, 2), _stat([m["epochs_run"] for m in mine], 1, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help="MNIST .npz (default: the engine's default copy)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--combiners", nargs="+", default=list(COMBINERS), choices=list(COMBINERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--test-subset", type=int, default=1000)
    parser.add_argument("--crown-subset", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write every run's report here (JSON), appended as it goes")
    parser.add_argument("--tables", type=Path, help="only print the tables of this JSON file of runs")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    if args.tables:
        runs = json.loads(args.tables.read_text())
    else:
        runs = []
        for setting in args.settings:
            for seed in args.seeds:
                for combiner in args.combiners:
                    started = time.monotonic()
                    report = run_fresh(config_fields(setting, combiner, seed, args))
                    runs.append({"setting": setting, "combiner": combiner, "seed": seed, "report": report,
                                 "load": os.getloadavg()[0], "wall_s": time.monotonic() - started})
                    print(f"{setting} {combiner} seed {seed}: {time.monotonic() - started:.0f}s "
                          f"mean acc {100 * report['mean_accuracy']:.1f}%", file=sys.stderr, flush=True)
                    if args.out:
                        args.out.write_text(json.dumps(runs, indent=1))
    for setting in dict.fromkeys(r["setting"] for r in runs):
        print(f"\n### {setting}\n\n{table(runs, setting)}")


if __name__ == "__main__":
    main()
