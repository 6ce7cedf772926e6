"""Bounding methods against the planet LP on the shared mnist_fc and eran networks.

For each instance (first --per-network properties of each network) and method, prints
the bound on the property (the smallest lower bound of c_i·y − d_i over its constraint
rows), the time, and against the planet LP given the same intermediate bounds: the
bound's shortfall relative to the LP's bound (|LP − bound| / |LP|), the share of
the CROWN-to-LP gap that the method closes, and the LP's time over the method's.
Sigmoid networks have no LP here (the reference is ReLU-only).

    python benchmarks/bounds_bench.py [--benchmarks DIR] [--per-network 2] [--iterations 50] [--lr 0.5]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import numpy as np

from core.bounds import BoundOptions, bound
from core.bounds.property_bounds import region_problems
from core.bounds.reference import planet_lp
from core.model import load_network
from core.spec import load_property

DEFAULT_DIR = Path(os.environ.get("CERTBOUND_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "benchmarks"


def instances(root: Path, per_network: int) -> list[tuple[Path, Path]]:
    chosen: dict[str, list[tuple[Path, Path]]] = {}
    for folder in ("mnist_fc", "eran"):
        with open(root / folder / "instances.csv") as f:
            for onnx_path, vnnlib_path, _ in csv.reader(f):
                picked = chosen.setdefault(onnx_path, [])
                if len(picked) < per_network:
                    picked.append((root / folder / onnx_path, root / folder / vnnlib_path))
    return [pair for picked in chosen.values() for pair in picked]


def timed(fn, repeats: int = 3):
    fn()  # warm-up: first calls pay for lazy initialisation
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def run(root: Path, per_network: int, iterations: int, lr: float) -> None:
    options = {"ibp": BoundOptions(), "crown": BoundOptions(),
               "alpha": BoundOptions(alpha_iterations=iterations, alpha_lr=lr)}
    print(f"{'network':28} {'property':36} {'method':6} {'bound':>10} {'time_s':>8} "
          f"{'vs LP':>8} {'gap_closed':>10} {'LP/time':>8}")
    summary: dict[str, list[tuple[float, float, float]]] = {m: [] for m in options}
    for net_path, prop_path in instances(root, per_network):
        graph = load_network(net_path).graph  # float64, so the LP sees exactly the engine's intermediate bounds
        problem = region_problems(load_property(prop_path), graph)[0]
        results = {m: timed(lambda m=m: bound(graph, problem.domains, problem.C, problem.d, m, options[m]))
                   for m in options}
        relu_only = all(type(n.op).__name__ == "Relu" for n in graph.nodes if n.name in results["alpha"][0].intermediate)
        lp = lp_time = None
        if relu_only:
            start = time.perf_counter()
            lp = planet_lp(graph, problem.domains.box, results["alpha"][0].intermediate, problem.C[0].numpy(),
                           problem.d[0].numpy())
            lp_time = time.perf_counter() - start
        crown = results["crown"][0].lower[0].numpy()
        for method, (result, seconds) in results.items():
            lower = result.lower[0].numpy()
            line = f"{net_path.name[:28]:28} {prop_path.name[:36]:36} {method:6} {lower.min():10.4f} {seconds:8.3f} "
            if lp is not None:
                shortfall = float(np.max(np.abs(lp - lower) / np.maximum(np.abs(lp), 1e-9)))
                gap = lp - crown
                closed = float(np.mean(np.where(gap > 1e-9, (lower - crown) / np.maximum(gap, 1e-9), 1.0)))
                shown = f"{closed:10.1%}" if method != "ibp" else f"{'-':>10}"  # IBP sits far below CROWN
                line += f"{shortfall:8.2%} {shown} {lp_time / seconds:8.1f}"
                summary[method].append((shortfall, closed, lp_time / seconds))
            print(line + ("" if lp is not None else f"{'(no LP: not a ReLU network)':>28}"))
        if lp is not None:
            print(f"{'':28} {'':36} {'LP':6} {lp.min():10.4f} {lp_time:8.3f}")
    print("\nper method over the ReLU instances (median): shortfall vs LP, CROWN-to-LP gap closed, LP time / time")
    for method, rows in summary.items():
        if rows:
            s, c, r = (statistics.median(col) for col in zip(*rows))
            worst = max(row[0] for row in rows)
            closed = f"{c:10.1%}" if method != "ibp" else f"{'-':>10}"
            print(f"  {method:6} {s:8.2%} {closed} {r:8.1f}x   (worst shortfall {worst:.2%}, {len(rows)} instances)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--per-network", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=50, help="α-CROWN Adam steps")
    parser.add_argument("--lr", type=float, default=0.5, help="α-CROWN Adam learning rate")
    args = parser.parse_args()
    run(args.benchmarks, args.per_network, args.iterations, args.lr)


if __name__ == "__main__":
    main()
