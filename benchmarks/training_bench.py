"""Certified-training benchmark: the five methods side by side on one fixed time budget.

Each method gets the same wall-clock training budget; the number of epochs it runs is
fitted to that budget from the measured cost of its own training steps (a CROWN-IBP or
attack step costs more than an IBP step, so those methods see fewer epochs), and the
schedules are laid out over those epochs. Evaluation is not counted in the budget.

    python benchmarks/training_bench.py --minutes-per-method 3 --arch cnn-small --eps 0.1

prints a table of clean / PGD / IBP / CROWN / α-CROWN / complete-verified accuracy and
writes every report (and the trained networks) to --out-dir.
"""

from __future__ import annotations

import argparse
import json
import math
import time
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


def seconds_per_step(config: TrainConfig, steps: int = 6) -> float:
    """Cost of one training step of `config.method` half-way through the ε ramp (where CROWN-IBP
    still runs its backward pass, so its average cost is not underestimated): the fastest of
    `steps` timed steps, since other work on a shared machine only ever adds to a step's time."""
    data = load_dataset(config.dataset, config.data).train
    model = build(config.arch, tuple(data.images.shape[1:])).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    resolved = config.resolved()
    c = coefficients(resolved, resolved.warmup_epochs + resolved.ramp_epochs / 2)
    times = []
    for k in range(steps + 1):
        started = time.perf_counter()
        batch = slice(k * config.batch_size, (k + 1) * config.batch_size)
        x, labels = data.images[batch], data.labels[batch]
        folded = to_graph(model, tuple(x.shape[1:]), x)
        loss = method_loss(resolved, folded.graph, folded.logits, x, labels, c).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
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
        step_s = seconds_per_step(base)
        steps_per_epoch = math.ceil(args.train_subset / args.batch_size)
        epochs = max(1, int(args.minutes_per_method * 60 / (step_s * steps_per_epoch)))
        config = base.model_copy(update={"epochs": epochs})
        started = time.monotonic()
        result = train(config, lambda e: print(json.dumps(e), flush=True) if e["phase"] == "epoch" else None)
        train_s = time.monotonic() - started - result.report.elapsed_s
        (out_dir / f"{method}.onnx").write_bytes(result.onnx)
        row = {"method": method, "epochs": epochs, "step_s": step_s, "train_s": train_s,
               **result.report.to_dict()}
        (out_dir / f"{method}.json").write_text(json.dumps({"row": row, "history": result.history}, indent=2))
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    lines = ["| method | epochs | train s | clean % | PGD % | IBP % | CROWN % | α-CROWN % | complete % |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['epochs']} | {r['train_s']:.0f} | {pct(r['clean'])} | {pct(r['pgd'])} | "
                     f"{pct(r['ibp'])} | {pct(r['crown'])} | {pct(r['alpha_crown'])} | {pct(r['complete'])} |")
    first = rows[0]
    lines.append(f"\nclean/PGD/IBP on {first['samples']} test examples, CROWN on {first['crown_samples']}, "
                 f"α-CROWN on {first['alpha_samples']}, complete verifier on {first['complete_samples']}")
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
    parser.add_argument("--crown-subset", type=int, default=200)
    parser.add_argument("--alpha-subset", type=int, default=50)
    parser.add_argument("--complete-subset", type=int, default=10)
    parser.add_argument("--complete-timeout", type=float, default=60.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="training-bench")
    args = parser.parse_args()
    print(table(run(args)))


if __name__ == "__main__":
    main()
