"""The automatic thread count against fixed ones, on a quiet machine and under load.

    python benchmarks/threads_bench.py [--benchmarks DIR] [--load N] [--timeout S] [--repeat R] [--only TEXT]

Each instance is verified, after one warm-up run, (CPU, in this process) with `threads` = auto (`core.threads`), 1,
2 and one per usable core, first on the machine as it is ("quiet"), then while N busy-loop
processes started by this script hold N cores ("loaded"; default: all cores but one). The
table gives each run's time and verdict, and per instance and condition the auto time
over the best fixed time: above 1 the default was slower than the best fixed choice. On a
machine shared with other work absolute times drift; ratios within one row are what count.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import VerifyConfig  # noqa: E402
from core.model import load_network  # noqa: E402
from core.spec import load_property  # noqa: E402
from core.threads import usable_cores  # noqa: E402
from core.verifier import verify  # noqa: E402
from spec_bench import DEFAULT  # noqa: E402

INSTANCES = [
    # the two: small fully connected networks, input splitting
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_1.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_2.vnnlib.gz"),
    # mid-sized fully connected, ReLU splitting
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_11_0.05.vnnlib.gz"),
    ("eran", "onnx/mnist_relu_9_200.onnx.gz", "vnnlib/mnist_spec_idx_3054_eps_0.01500.vnnlib.gz"),
    # convolutional: the attack finds the counterexample; unsat after branch and bound
    ("oval21", "onnx/cifar_base_kw.onnx.gz", "vnnlib/cifar_base_kw-img1697-eps0.0014379084967320263.vnnlib.gz"),
    ("oval21", "onnx/cifar_deep_kw.onnx.gz", "vnnlib/cifar_deep_kw-img8406-eps0.00392156862745098.vnnlib.gz"),
    ("oval21", "onnx/cifar_wide_kw.onnx.gz", "vnnlib/cifar_wide_kw-img4720-eps0.008758169934640524.vnnlib.gz"),
    # the largest fully connected networks here (10 and 67 million multiply-accumulates: more
    # than one thread where cores are free); their unsat instances do not finish in minutes on 2 cores
    ("tllverifybench", "onnx/tllBench_n=2_N=M=40_m=1_instance_4_0.onnx.gz", "vnnlib/property_N=40_0.vnnlib.gz"),
    ("tllverifybench", "onnx/tllBench_n=2_N=M=64_m=1_instance_7_1.onnx.gz", "vnnlib/property_N=64_1.vnnlib.gz"),
]


def spin() -> None:
    """A busy loop: one core's worth of load, until terminated."""
    while True:
        pass


def run(network, prop, threads: int | None, timeout: float) -> dict:
    """One verification: engine seconds, verdict, threads used, domains visited."""
    result = verify(network, prop, VerifyConfig(timeout_s=timeout, device="cpu", threads=threads))
    return {"s": result.elapsed_s, "verdict": result.verdict.value, "threads": result.stats.get("threads", 0),
            "domains": result.domains_visited}


def slowdown(auto: dict, fixed: list[dict]) -> str:
    """Auto against the best fixed setting: time over time when every run decided; when
    every run timed out, the best fixed rate of domains per second over auto's ("rate")."""
    runs = [auto, *fixed]
    if all(r["verdict"] == "timeout" for r in runs):
        rate = [r["domains"] / r["s"] for r in runs]
        return f"{max(rate[1:]) / rate[0]:.2f} (rate)" if rate[0] > 0 else "- (no domains)"
    return f"{auto['s'] / min(r['s'] for r in fixed):.2f}"


def measure(instances, settings, timeout: float, repeat: int, condition: str) -> list[list[str]]:
    """One row per instance: each setting's median run (settings interleaved, `repeat` rounds,
    so that a change in the machine's load hits all of them alike) and the slowdown."""
    rows = []
    for folder, onnx, vnnlib in instances:
        network, prop = load_network(folder / onnx), load_property(folder / vnnlib)
        run(network, prop, 1, min(timeout, 5.0))  # warm-up: a network's first run pays for caches and allocations
        runs: dict[int | None, list[dict]] = {k: [] for k in settings}
        for _ in range(repeat):
            for threads in settings:
                runs[threads].append(run(network, prop, threads, timeout))
        results = {k: sorted(v, key=lambda r: r["s"])[len(v) // 2] for k, v in runs.items()}
        cells = [f"{r['s']:.2f} {r['verdict']}" + (f" ({r['threads']} thr)" if k is None else "")
                 + (f" {r['domains']} dom" if r["verdict"] == "timeout" else "") for k, r in results.items()]
        ratio = slowdown(results[None], [r for k, r in results.items() if k is not None])
        row = [condition, f"{folder.name}/{Path(onnx).name.split('.')[0]}/{Path(vnnlib).name.split('.')[0]}",
               *cells, ratio]
        print(" | ".join(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT, help="folder of VNN-COMP benchmark folders")
    parser.add_argument("--load", type=int, default=None, help="busy-loop processes (default: cores - 1)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the settings; the median counts")
    parser.add_argument("--only", default="", help="only instances whose path contains this")
    args = parser.parse_args()
    cores = usable_cores()
    load = max(1, cores - 1) if args.load is None else args.load
    settings = [None, *sorted({1, 2, cores})]
    instances = [(args.benchmarks / b, o, v) for b, o, v in INSTANCES if args.only in f"{b}/{o}/{v}"]
    header = ["condition", "instance", *[f"{s or 'auto'} s" for s in settings], "auto / best fixed"]
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {cores} usable cores, load: {load} busy-loop process(es)")
    print(" | ".join(header), flush=True)
    rows = measure(instances, settings, args.timeout, args.repeat, "quiet")
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(load)]
    for p in spinners:
        p.start()
    try:
        rows += measure(instances, settings, args.timeout, args.repeat, f"loaded ({load})")
    finally:
        for p in spinners:
            p.terminate()
            p.join()
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    worst = max(float(r[-1].split()[0]) for r in rows if r[-1][0] != "-")
    print(f"\nworst auto / best fixed: {worst:.2f}")


if __name__ == "__main__":
    main()
