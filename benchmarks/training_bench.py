"""Certified-training benchmark: the five methods side by side on one fixed time budget.

Each method gets the same wall-clock training budget; the number of epochs it runs is
fitted to that budget from the measured cost of its own training steps in each phase of
its schedule (warm-up, ε ramp, after the ramp: a CROWN-IBP step costs several IBP steps
during the ramp only, an attack step costs more than an IBP step throughout), and the
schedules are laid out over those epochs. Evaluation is not counted in the budget.

The step cost is the fastest of a few timed steps in this process's CPU time (the run is
single-threaded), so work from other processes on a shared machine does not shrink a method's
epochs; it can only make the run itself slower than the budget, which is why the training's
wall and CPU time (and the load average during it) are reported beside the budget rather
than the run being cut short.

    python benchmarks/training_bench.py --minutes-per-method 3 --arch cnn-small --eps 0.1

prints a table of clean / PGD / IBP / CROWN / α-CROWN / complete-verified accuracy and
writes every report (and the trained networks) to --out-dir.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.training import TrainConfig, train
from core.training.architectures import build
from core.training.config import Method
from core.training.convert import to_graph
from core.training.data import load_dataset
from core.training.losses import method_loss
from core.training.schedule import coefficients

METHODS: tuple[Method, ...] = ("ibp", "crown-ibp", "ibp-r", "cc-ibp", "mtl-ibp")


@dataclass(frozen=True)
class StepCosts:
    """Seconds per training step in each phase of the schedule. They differ a lot: warm-up steps
    (ε = 0) are clean steps, and CROWN-IBP runs its CROWN pass only while β > 0, during the ramp."""

    warmup: float
    ramp: float
    after: float

    def epochs_within(self, config: TrainConfig, steps_per_epoch: int, budget_s: float) -> tuple[int, float]:
        """The most epochs (at least 1) whose schedule, laid out as `config` lays it out for that many
        epochs, is priced within `budget_s`; and that price."""
        epochs = 1
        while self.price(config, epochs + 1, steps_per_epoch) <= budget_s:
            epochs += 1
        return epochs, self.price(config, epochs, steps_per_epoch)

    def price(self, config: TrainConfig, epochs: int, steps_per_epoch: int) -> float:
        resolved = config.model_copy(update={"epochs": epochs}).resolved()
        warmup = min(resolved.warmup_epochs, epochs)
        ramp = min(resolved.ramp_epochs, epochs - warmup)
        return steps_per_epoch * (warmup * self.warmup + ramp * self.ramp + (epochs - warmup - ramp) * self.after)


def step_costs(config: TrainConfig, steps: int = 6) -> StepCosts:
    """Time training steps of `config.method` in the warm-up, half-way through the ε ramp and after
    it (on a 10-epoch layout of the schedule)."""
    probe = config.model_copy(update={"epochs": 10}).resolved()
    start, ramp = probe.warmup_epochs, probe.ramp_epochs
    return StepCosts(warmup=seconds_per_step(probe, start / 2, steps),
                     ramp=seconds_per_step(probe, start + ramp / 2, steps),
                     after=seconds_per_step(probe, start + ramp + 0.5, steps))


def seconds_per_step(config: TrainConfig, epoch: float, steps: int) -> float:
    """Cost of one training step of `config.method` (resolved) at `epoch` of its schedule, in this
    process's CPU seconds (the run is single-threaded), the fastest of `steps`: wall time would count
    other processes' work on a shared machine, and contention lasting through all the timed steps
    once priced CC-IBP's step 35% too high (17 epochs trained in 532 s of a 720 s budget)."""
    data = load_dataset(config.dataset, config.data).train
    model = build(config.arch, tuple(data.images.shape[1:])).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    c = coefficients(config, epoch)
    times = []
    for k in range(steps + 1):
        started = time.process_time()
        batch = slice(k * config.batch_size, (k + 1) * config.batch_size)
        x, labels = data.images[batch], data.labels[batch]
        folded = to_graph(model, tuple(x.shape[1:]), x)
        loss = method_loss(config, folded.graph, folded.logits, x, labels, c).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.process_time() - started)
    return min(times[1:])  # the first step pays one-off allocation costs


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for method in args.methods.split(","):
        base = TrainConfig(method=method, arch=args.arch, eps=args.eps, epochs=1, data=args.data,
                           batch_size=args.batch_size, train_subset=args.train_subset, test_subset=args.test_subset,
                           eval_crown_subset=args.crown_subset, eval_alpha_subset=args.alpha_subset,
                           complete_subset=args.complete_subset, complete_timeout_s=args.complete_timeout,
                           device=args.device, seed=args.seed)
        costs = step_costs(base)
        steps_per_epoch = math.ceil(args.train_subset / args.batch_size)
        budget_s = args.minutes_per_method * 60
        epochs, priced_s = costs.epochs_within(base, steps_per_epoch, budget_s)
        config = base.model_copy(update={"epochs": epochs})
        clock = TrainingClock()
        result = train(config, clock)
        (out_dir / f"{method}.onnx").write_bytes(result.onnx)
        row = {"method": method, "epochs": epochs, "step_s": asdict(costs), "priced_s": priced_s,
               "budget_s": budget_s, "train_s": clock.wall_s, "train_cpu_s": clock.cpu_s,
               "epoch_s": sum(h["epoch_s"] for h in result.history), "load_mean": sum(clock.loads) / len(clock.loads),
               "load_max": max(clock.loads), **result.report.to_dict()}
        (out_dir / f"{method}.json").write_text(json.dumps({"row": row, "history": result.history}, indent=2))
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


class TrainingClock:
    """Progress callback: prints each epoch's metrics, notes the 1-minute load average at its end (how
    much other work shared the machine) and, at the evaluation event, the wall and CPU seconds the
    training took; CPU well below wall means other processes took the difference."""

    def __init__(self) -> None:
        self.loads = [os.getloadavg()[0]]
        self.wall_s = self.cpu_s = float("nan")
        self._wall, self._cpu = time.monotonic(), time.process_time()

    def __call__(self, event: dict) -> None:
        if event["phase"] == "epoch":
            self.loads.append(os.getloadavg()[0])
            print(json.dumps({**event, "load": self.loads[-1]}), flush=True)
        elif event["phase"] == "evaluate":
            self.wall_s, self.cpu_s = time.monotonic() - self._wall, time.process_time() - self._cpu


def table(rows: list[dict]) -> str:
    """The markdown table of the rows, with what each column covers."""
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    lines = ["| method | epochs | step ms warm-up/ramp/after | train s wall/CPU (budget) | clean % | PGD % | IBP % | CROWN % | α-CROWN % "
             "| complete % | complete decided | eval s | load mean/max |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ms = "/".join(f"{1000 * v:.0f}" for v in r["step_s"].values())
        lines.append(f"| {r['method']} | {r['epochs']} | {ms} | {r['train_s']:.0f}/{r['train_cpu_s']:.0f} "
                     f"({r['budget_s']:.0f}) | {pct(r['clean'])} | {pct(r['pgd'])} | {pct(r['ibp'])} | "
                     f"{pct(r['crown'])} | {pct(r['alpha_crown'])} | {pct(r['complete'])} | "
                     f"{r['complete_decided']}/{r['complete_samples']} ({r['complete_runs']} runs, "
                     f"{r['complete_timeouts']} timeouts) | {r['elapsed_s']:.0f} | {r['load_mean']:.1f}/{r['load_max']:.1f} |")
    first = rows[0]
    lines.append(f"\nclean/PGD/IBP on {first['samples']} test examples, CROWN on the first {first['crown_samples']}, "
                 f"α-CROWN on the first {first['alpha_samples']}, complete verifier on the first "
                 f"{first['complete_samples']} (examples already proved by a bound or refuted by PGD are decided "
                 "without a verifier run). IBP-R trains against an attack with only a small IBP regulariser, "
                 "so its network is meant to be verified by CROWN / complete verification: its IBP-verified "
                 "column is expected to sit far below the others (anywhere down to 0%) and is not its figure "
                 "of merit.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes-per-method", type=float, default=20.0)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--arch", default="cnn-small")
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--data", type=Path, default=None, help="dataset path (default: the shared MNIST)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-subset", type=int, default=60000)
    parser.add_argument("--test-subset", type=int, default=1000)
    parser.add_argument("--crown-subset", type=int, default=1000)
    parser.add_argument("--alpha-subset", type=int, default=200)
    parser.add_argument("--complete-subset", type=int, default=200)
    parser.add_argument("--complete-timeout", type=float, default=10.0, help="seconds per example")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--out-dir", default="training-bench")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(table(run(args)))


if __name__ == "__main__":
    main()
