"""Bound versus time on the Anderson relaxation: CROWN, α-CROWN, Big-M, Active Set and
Saddle Point against the planet LP and the Anderson LP (HiGHS), on oval21's three
networks, mnist_fc 256x6 and eran mnist_relu_9_200.

Each problem is the first region of a property with its first --rows disjunct rows. All
methods bound the same relaxation: CROWN's intermediate bounds are computed once per
problem and shared (their time is left out of every method's). The dual solvers start
from α-CROWN's multipliers, so their traces start at α-CROWN's time. The LPs run in a
child process, stopped after --lp-timeout seconds ("did not finish"). One thread, float64.

Writes a CSV of every trace step and point, a PNG (one panel per network: the share of
the α-CROWN-to-reference gap closed against time), and prints per network each method's
mean final bound, time, gap closed and the Anderson LP's time over the method's. The
reference is the Anderson LP optimum where it finished (cutting planes converged on
every row), else the best bound any method found. --sweep instead runs a small grid of Active Set
settings on mnist_fc 256x6 and cifar_base_kw and prints the bound reached at 0.5 s and 2 s.

    python benchmarks/anderson_bench.py [--networks NAME ...] [--properties 2] [--rows 2] [--dual-iterations 100]
        [--lp-timeout 60] [--csv PATH] [--png docs/anderson_bound_time.png] [--sweep]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from core.bounds import BoundOptions, Domains
from core.bounds.anderson import SolverOptions, anderson_net, solve
from core.bounds.anderson.relaxation import relaxation
from core.bounds.anderson.start import from_backward_pass
from core.bounds.api import _intermediate, _optimised
from core.bounds.crown import backward_bound, spec_coefficients
from core.bounds.memory import budget_bytes
from core.bounds.plan import plan_for
from core.bounds.property_bounds import region_problems
from core.bounds.reference import anderson_lp, planet_lp
from core.data import benchmarks_dir
from core.model import load_network
from core.model.ir import Graph
from core.spec import load_property

NETWORKS = (("oval21", "cifar_base_kw"), ("oval21", "cifar_deep_kw"), ("oval21", "cifar_wide_kw"),
            ("mnist_fc", "mnist-net_256x6"), ("eran", "mnist_relu_9_200"))
DUAL_SOLVERS = ("big-m", "active-set", "saddle-point")
METHODS = ("crown", "alpha") + DUAL_SOLVERS + ("planet-lp", "anderson-lp")


@dataclass(frozen=True)
class Settings:
    alpha_iterations: int = 50
    alpha_lr: float = 0.5
    solver: SolverOptions = SolverOptions(iterations=100)
    lp_timeout: float = 60.0  # seconds per problem and LP; 0 skips the LPs
    solvers: tuple[str, ...] = DUAL_SOLVERS


@dataclass
class Measurement:
    """One problem's results: per method a list of (seconds, bounds [S]) — one point for
    CROWN, α-CROWN and the LPs, a point per iteration for the dual solvers. An LP that did
    not finish or failed has no entry; `converged` says whether the Anderson LP's cutting planes
    reached its optimum on every row."""

    name: str
    curves: dict[str, list[tuple[float, np.ndarray]]] = field(default_factory=dict)
    converged: bool = False
    failures: dict[str, str] = field(default_factory=dict)  # LP: HiGHS's error, where it raised one

    def final(self, method: str) -> tuple[float, np.ndarray] | None:
        curve = self.curves.get(method)
        return curve[-1] if curve else None


def _timed_call(send, fn, args) -> None:
    start = time.perf_counter()
    try:
        result = fn(*args)
    except Exception as error:  # noqa: BLE001 — reported, not raised: the other methods' figures stand
        send.send(f"{type(error).__name__}: {error}")
        return
    send.send((result, time.perf_counter() - start))


def _in_child(fn, args: tuple, timeout: float):
    """fn(*args) in a fresh process (spawned: forking a process whose torch has started
    threads can leave the child stuck or dead): (result, its own seconds); None past
    `timeout` seconds; the error's text (a str) when it raised (HiGHS reporting a failure)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_timed_call, args=(send, fn, args), daemon=True)
    child.start()
    try:
        return receive.recv() if receive.poll(timeout) else None
    except EOFError:
        return "the solver's process died"
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def measure(graph: Graph, domains: Domains, C: torch.Tensor, d: torch.Tensor, settings: Settings,
            name: str = "") -> Measurement:
    """Every method on one domain (batch 1) with C [1, S, n_out], d [1, S]."""
    result = Measurement(name)
    plan = plan_for(graph)
    options = BoundOptions(alpha_iterations=settings.alpha_iterations, alpha_lr=settings.alpha_lr)
    with torch.no_grad():
        boxes, _ = _intermediate(plan, domains, options, budget_bytes(domains.lower.device, None))
    A = spec_coefficients(C, 1, graph.output_shape)
    offsets = d.expand(1, -1).T
    started = time.perf_counter()
    with torch.no_grad():
        crown = backward_bound(plan, graph.output_name, A, boxes) - offsets
    result.curves["crown"] = [(time.perf_counter() - started, crown[:, 0].numpy().copy())]
    started = time.perf_counter()
    best, alphas = _optimised(plan, domains, boxes, C, d, options, None)
    alpha_seconds = time.perf_counter() - started
    result.curves["alpha"] = [(alpha_seconds, best[:, 0].numpy().copy())]
    net = anderson_net(graph)
    for solver in settings.solvers:
        started = time.perf_counter()
        relax = relaxation(net, boxes[graph.input_name], {layer.relu: boxes[layer.pre] for layer in net.layers})
        start = from_backward_pass(plan, boxes, A, relax, alphas)
        offset = alpha_seconds + time.perf_counter() - started
        curve = result.curves[solver] = []
        solve(solver, relax, net.objective(C, d), start, settings.solver,
              trace=lambda step, seconds, value, curve=curve, offset=offset:
              curve.append((offset + seconds, value[:, 0].numpy().copy())))
    if settings.lp_timeout > 0:
        intermediate = {n.name: boxes[n.inputs[0]] for n in plan.nonlinear}
        Cn, dn = C[0].numpy(), d[0].numpy()
        args = (graph, domains.box, intermediate, Cn, dn)
        planet = _in_child(planet_lp, args, settings.lp_timeout)
        if isinstance(planet, tuple):
            result.curves["planet-lp"] = [(planet[1], np.asarray(planet[0]))]
        anderson = _in_child(anderson_lp, args, settings.lp_timeout)
        if isinstance(anderson, tuple):
            result.curves["anderson-lp"] = [(anderson[1], np.asarray(anderson[0].value))]
            result.converged = bool(np.all(anderson[0].converged))
        result.failures = {k: v for k, v in (("planet-lp", planet), ("anderson-lp", anderson)) if isinstance(v, str)}
    return result


def problems(root: Path, folder: str, network: str, properties: int, rows: int):
    """(name, graph, domains, C, d) for the first `properties` instances of `network`."""
    picked = []
    with open(root / folder / "instances.csv") as f:
        for onnx_path, vnnlib_path, _ in csv.reader(f):
            if Path(onnx_path).name.startswith(network + ".") and len(picked) < properties:
                picked.append((root / folder / onnx_path, root / folder / vnnlib_path))
    for net_path, prop_path in picked:
        graph = load_network(net_path).graph
        problem = region_problems(load_property(prop_path), graph)[0]
        yield (f"{network}/{prop_path.name.split('.vnnlib')[0]}", graph, problem.domains,
               problem.C[:, :rows], problem.d[:, :rows])


def reference(measurements: list[Measurement]) -> tuple[list[np.ndarray], str]:
    """Per problem the bounds [S] the gap is measured to: the Anderson LP optimum where its
    cutting planes converged, else the best bound any method found; and which it was."""
    refs = [m.final("anderson-lp")[1] if m.converged else np.max([m.final(k)[1] for k in m.curves], axis=0)
            for m in measurements]
    exact = sum(m.converged for m in measurements)
    if exact == len(measurements):
        return refs, "the Anderson LP optimum"
    return refs, f"the Anderson LP optimum on {exact} of {len(measurements)} problems, else the best bound found"


def gap_closed(bounds: np.ndarray, alpha: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Share of the α-CROWN-to-reference gap closed per row; NaN where there is no gap."""
    gap = ref - alpha
    return np.where(gap > 1e-9, (bounds - alpha) / np.where(gap > 1e-9, gap, 1.0), np.nan)


def summary(measurements: list[Measurement]) -> tuple[list[dict], str]:
    """Per method: mean final bound, mean time, mean gap closed, Anderson LP time / time."""
    refs, ref_name = reference(measurements)
    table = []
    for method in METHODS:
        have = [(m, r) for m, r in zip(measurements, refs) if m.final(method) is not None]
        if not have:
            table.append({"method": method, "problems": 0})
            continue
        finals = [m.final(method) for m, _ in have]
        closed = np.concatenate([gap_closed(b, m.final("alpha")[1], r) for (m, r), (_, b) in zip(have, finals)])
        ratios = [m.final("anderson-lp")[0] / s for (m, _), (s, _) in zip(have, finals) if m.final("anderson-lp")]
        table.append({"method": method, "problems": len(have),
                      "bound": float(np.mean(np.concatenate([b for _, b in finals]))),
                      "seconds": float(np.mean([s for s, _ in finals])),
                      "gap_closed": float(np.nanmean(closed)) if np.isfinite(closed).any() else float("nan"),
                      "lp_ratio": float(np.mean(ratios)) if ratios else float("nan")})
    return table, ref_name


def _at(curve: list[tuple[float, np.ndarray]], t: float) -> np.ndarray | None:
    """The best bounds reached by time t (None before the curve starts)."""
    reached = [b for s, b in curve if s <= t]
    return np.max(reached, axis=0) if reached else None


def ahead(measurements: list[Measurement], first: str, second: str, points: int = 40) -> tuple[int, int]:
    """On how many (problem, row, time) points `first`'s best bound so far is above
    `second`'s by more than 1e-9, out of how many: times on a grid over the span both ran."""
    wins = total = 0
    for m in measurements:
        a, b = m.curves.get(first), m.curves.get(second)
        if not a or not b:
            continue
        begin, end = max(a[0][0], b[0][0]), min(a[-1][0], b[-1][0])
        for t in np.linspace(begin, end, points) if end > begin else []:
            diff = _at(a, t) - _at(b, t)
            wins += int(np.sum(diff > 1e-9))
            total += diff.size
    return wins, total


def plot(results: dict[str, list[Measurement]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(results))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    colours = dict(zip(METHODS, ("tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                                 "black")))
    for ax, (network, measurements) in zip(axes.flat, results.items()):
        refs, ref_name = reference(measurements)
        alphas = [m.final("alpha")[1] for m in measurements]

        def share(bounds, i):
            closed = gap_closed(bounds, alphas[i], refs[i])
            return np.nanmean(closed) if np.isfinite(closed).any() else np.nan

        def mean(values):
            values = [v for v in values if np.isfinite(v)]
            return np.mean(values) if values else np.nan

        for method in METHODS:
            if any(m.final(method) is None for m in measurements):
                continue
            if method in DUAL_SOLVERS:
                end = max(m.final(method)[0] for m in measurements)
                begin = max(m.curves[method][0][0] for m in measurements)
                grid = np.geomspace(begin, end, 60)
                ys = [mean([share(_at(m.curves[method], t), i) for i, m in enumerate(measurements)]) for t in grid]
                ax.plot(grid, ys, color=colours[method], label=method)
            else:
                x = np.mean([m.final(method)[0] for m in measurements])
                y = mean([share(m.final(method)[1], i) for i, m in enumerate(measurements)])
                ax.scatter([x], [max(y, -0.45)], color=colours[method], label=method, zorder=3,
                           marker="v" if y < -0.45 else "o")
        times = [s for m in measurements for curve in m.curves.values() for s, _ in (curve[0], curve[-1])]
        ax.set_xscale("log")
        ax.set_xlim(max(min(times), 1e-4) / 1.5, max(times) * 1.5)
        ax.set_ylim(-0.5, 1.1)
        ax.set_title(f"{network} ({len(measurements)} problems)", fontsize=9)
        ax.set_xlabel("seconds per problem (1 thread)")
        ax.grid(alpha=0.3)
        if all(np.isnan(share(m.final(k)[1], i)) for i, m in enumerate(measurements) for k in m.curves):
            ax.text(0.5, 0.5, "no gap: nothing beat α-CROWN", transform=ax.transAxes, ha="center", fontsize=8)
        ax.text(0.98, 0.02, f"1 = {ref_name.replace(', else', chr(10) + 'else')}", transform=ax.transAxes, fontsize=6, ha="right")
    for ax in axes[:, 0]:
        ax.set_ylabel("share of α-CROWN→reference gap closed")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_csv(results: dict[str, list[Measurement]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["network", "problem", "method", "step", "seconds", "row", "bound"])
        for network, measurements in results.items():
            for m in measurements:
                for method, curve in m.curves.items():
                    for step, (seconds, bounds) in enumerate(curve):
                        out.writerows([network, m.name, method, step, f"{seconds:.4f}", row, f"{b:.6f}"]
                                      for row, b in enumerate(bounds))


SWEEP = (SolverOptions(), SolverOptions(iterations=200), SolverOptions(lr=0.3, lr_end=0.01),
         SolverOptions(lr=3.0, lr_end=0.1), SolverOptions(cut_every=5), SolverOptions(cut_every=25, max_cuts=2),
         SolverOptions(max_cuts=8), SolverOptions(primal_memory=0.5), SolverOptions(iterations=200, cut_every=25, max_cuts=8),
         SolverOptions(iterations=200, lr=3.0, lr_end=0.03, cut_every=20, max_cuts=8))


def sweep(root: Path, rows: int, settings: Settings, which: int = 2, budgets=(0.5, 2.0)) -> None:
    """Active Set settings on the `which`-th property (1-based) of mnist_fc 256x6 and of
    cifar_base_kw: the mean gain over α-CROWN (bound − α-CROWN's, mean over rows) reached
    within each budget of solver time (after α-CROWN). The default, the second, is the
    first with a gap to close (cifar_base_kw's first has almost none)."""
    print(f"\nActive Set sweep: mean bound gain over α-CROWN within {budgets} s of solver time")
    for folder, network in (("mnist_fc", "mnist-net_256x6"), ("oval21", "cifar_base_kw")):
        name, graph, domains, C, d = list(problems(root, folder, network, which, rows))[-1]
        for options in SWEEP:
            m = measure(graph, domains, C, d, replace(settings, solver=options, lp_timeout=0, solvers=("active-set",)), name)
            curve = m.curves["active-set"]
            offset = curve[0][0]
            alpha = m.final("alpha")[1]
            gains = [float(np.mean(_at([(s - offset, b) for s, b in curve], t) - alpha)) for t in budgets]
            o = options
            print(f"  {name[:40]:40} it={o.iterations:3} lr={o.lr:<4} lr_end={o.lr_end:<5} cut_every={o.cut_every:<3} "
                  f"max_cuts={o.max_cuts} memory={o.primal_memory}: "
                  + "  ".join(f"{t}s {g:+.4f}" for t, g in zip(budgets, gains))
                  + f"   (all {o.iterations} steps {curve[-1][0] - offset:.2f} s, {np.mean(curve[-1][1] - alpha):+.4f})")


def run(root: Path, properties: int, rows: int, settings: Settings, csv_path: Path | None,
        png_path: Path | None, networks: tuple[str, ...] = tuple(n for _, n in NETWORKS)) -> dict[str, list[Measurement]]:
    results: dict[str, list[Measurement]] = {}
    for folder, network in (pair for pair in NETWORKS if pair[1] in networks):
        for name, graph, domains, C, d in problems(root, folder, network, properties, rows):
            started = time.perf_counter()
            m = measure(graph, domains, C, d, settings, name)
            results.setdefault(network, []).append(m)
            lp = "anderson LP " + (f"{m.final('anderson-lp')[0]:.1f} s" + ("" if m.converged else " (not converged)")
                                   if m.final("anderson-lp") else "did not finish")
            lp = lp if settings.lp_timeout > 0 else "LPs not run"
            lp += "".join(f"; {k} failed: {v}" for k, v in m.failures.items())
            print(f"  {name}: {time.perf_counter() - started:.1f} s, {lp}", flush=True)
        report(network, results[network])
    if csv_path:
        write_csv(results, csv_path)
    if png_path:
        plot(results, png_path)
    return results


def report(network: str, measurements: list[Measurement]) -> None:
    table, ref_name = summary(measurements)
    print(f"{network}: {len(measurements)} problems, gap closed against {ref_name}")
    print(f"  {'method':13} {'bound':>10} {'time_s':>8} {'gap_closed':>10} {'LP/time':>8}")
    for row in table:
        if not row["problems"]:
            print(f"  {row['method']:13} {'did not finish or not run':>10}")
            continue
        closed = f"{row['gap_closed']:10.1%}" if np.isfinite(row["gap_closed"]) else f"{'-':>10}"
        ratio = f"{row['lp_ratio']:8.1f}" if np.isfinite(row["lp_ratio"]) else f"{'-':>8}"
        missing = "" if row["problems"] == len(measurements) else f"  (finished on {row['problems']})"
        print(f"  {row['method']:13} {row['bound']:10.4f} {row['seconds']:8.3f} {closed} {ratio}{missing}")
    wins, total = ahead(measurements, "saddle-point", "active-set")
    print(f"  saddle point above active set at equal time: {wins} of {total} (problem, row, time) points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=benchmarks_dir())
    parser.add_argument("--properties", type=int, default=2, help="properties per network")
    parser.add_argument("--networks", nargs="+", choices=[n for _, n in NETWORKS], default=[n for _, n in NETWORKS])
    parser.add_argument("--rows", type=int, default=2, help="disjunct rows per property")
    parser.add_argument("--alpha-iterations", type=int, default=50)
    parser.add_argument("--dual-iterations", type=int, default=100)
    parser.add_argument("--lp-timeout", type=float, default=60.0, help="seconds per LP and problem (0: no LPs)")
    parser.add_argument("--csv", type=Path, default=Path("anderson_bench.csv"))
    parser.add_argument("--png", type=Path, default=Path("docs/anderson_bound_time.png"))
    parser.add_argument("--sweep", action="store_true", help="sweep Active Set settings instead")
    parser.add_argument("--sweep-property", type=int, default=2, help="which property the sweep bounds (1-based)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = Settings(alpha_iterations=args.alpha_iterations, solver=SolverOptions(iterations=args.dual_iterations),
                        lp_timeout=args.lp_timeout)
    if args.sweep:
        sweep(args.benchmarks, args.rows, settings, args.sweep_property)
    else:
        run(args.benchmarks, args.properties, args.rows, settings, args.csv, args.png, tuple(args.networks))


if __name__ == "__main__":
    main()
