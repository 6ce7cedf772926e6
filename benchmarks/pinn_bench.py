"""PINN benchmark: train a PINN per PDE here, then certify its worst-case residual.

For each PDE: train (Burgers: the seed's recipe, 8 x 20 tanh, 10k collocation points, Adam
then L-BFGS; the others smaller, to keep the run short), or reuse --nets-dir/<pde>.onnx,
then greedy-split each condition (residual, initial, boundary) under its own time budget
and report the certified maximum |residual|, the empirical maximum on the grid, their
ratio, the pieces and the time; the certificate of each is re-checked by the independent
checker, and its time reported. Single-threaded (torch and BLAS).

    OMP_NUM_THREADS=1 python benchmarks/pinn_bench.py --residual-budget 540 --out docs/results/pinn.md.new
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads BLAS
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

TRAIN = {  # per PDE: the PinnTrainConfig fields (Burgers as in the seed; the others shrunk)
    "burgers": dict(pde="burgers", hidden_layers=8, width=20, collocation=10_000, adam_steps=2000, lbfgs_steps=3000),
    "allen_cahn": dict(pde="allen_cahn", hidden_layers=4, width=20, collocation=5_000, adam_steps=1500,
                       lbfgs_steps=1500),
    "schrodinger": dict(pde="schrodinger", hidden_layers=4, width=20, collocation=5_000, adam_steps=1500,
                        lbfgs_steps=1500),
}


def network(pde: str, nets_dir: Path) -> tuple[bytes, dict]:
    """The PDE's network: reused from `nets_dir`, else trained here and saved there."""
    from core.pinn.train import PinnTrainConfig, train_pinn

    path = nets_dir / f"{pde}.onnx"
    info_path = nets_dir / f"{pde}.json"
    if path.is_file():
        return path.read_bytes(), json.loads(info_path.read_text()) if info_path.is_file() else {}
    result = train_pinn(PinnTrainConfig(**TRAIN[pde]))
    info = {"config": TRAIN[pde], "losses": result.losses, "train_s": result.elapsed_s}
    nets_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result.onnx)
    info_path.write_text(json.dumps(info, indent=1))
    return result.onnx, info


def certify(pde: str, data: bytes, args) -> list[dict]:
    from core.pinn.certificate import build_certificate
    from core.pinn.certify import certify_pinn
    from core.pinn.check import check_pinn
    from core.pinn.network import load_mlp
    from core.pinn.options import PinnOptions

    rows = []
    mlp = load_mlp(data)
    for condition, budget in (("residual", args.residual_budget), ("initial", args.condition_budget),
                              ("boundary", args.condition_budget)):
        options = PinnOptions(pde=pde, conditions=(condition,), budget_s=budget, grid=args.grid,
                              target_ratio=args.target_ratio, max_pieces=args.max_pieces)
        result = certify_pinn(mlp, options, progress=_printer(pde))
        c = result.conditions[0]
        started = time.monotonic()
        check = check_pinn(data, build_certificate(data, result)) if args.check else None
        rows.append({"pde": pde, "condition": condition, "certified_max": c.certified_max,
                     "empirical_max": c.empirical_max, "ratio": c.ratio, "pieces": len(c.paths),
                     "time_s": c.elapsed_s, "stopped": c.stopped, "check_valid": check.valid if check else None,
                     "checked_max": check.certified.get(condition) if check else None,
                     "check_s": time.monotonic() - started,
                     "curve": [(e["elapsed_s"], e["pieces"], e["certified_max"]) for e in c.history]})
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "curve"}), flush=True)
    return rows


def _printer(pde: str):
    last = [0.0]

    def show(event: dict) -> bool:
        if event["elapsed_s"] - last[0] >= 30:
            last[0] = event["elapsed_s"]
            print(f"  {pde} {event['condition']}: {event['pieces']} pieces, certified {event['certified_max']:.4g}, "
                  f"empirical {event['empirical_max']:.4g}, {event['elapsed_s']:.0f} s", flush=True)
        return False

    return show


def table(rows: list[dict]) -> str:
    lines = ["| PDE | condition | certified max \\|r\\| | empirical max \\|r\\| | ratio | pieces | time (s) | "
             "stopped | checked (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['pde']} | {r['condition']} | {r['certified_max']:.4g} | {r['empirical_max']:.4g} | "
                     f"{r['ratio']:.3f} | {r['pieces']} | {r['time_s']:.0f} | {r['stopped']} | "
                     f"{_checked(r)} |")
    return "\n".join(lines)


def _checked(row: dict) -> str:
    if row["check_valid"] is None:
        return "not checked"
    return f"{'valid' if row['check_valid'] else 'REJECTED'} ({row['check_s']:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdes", default="burgers,allen_cahn,schrodinger")
    parser.add_argument("--nets-dir", type=Path, default=Path("benchmarks/pinn_nets"))
    parser.add_argument("--residual-budget", type=float, default=540.0)
    parser.add_argument("--condition-budget", type=float, default=30.0)
    parser.add_argument("--grid", type=int, default=501)
    parser.add_argument("--target-ratio", type=float, default=1.0)
    parser.add_argument("--max-pieces", type=int, default=400_000)
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the certificate checks")
    parser.add_argument("--json", type=Path, default=None, help="write every row (with its curve) here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows, trained = [], {}
    for pde in args.pdes.split(","):
        data, info = network(pde, args.nets_dir)
        trained[pde] = info
        rows += certify(pde, data, args)
    print(table(rows))
    for pde, info in trained.items():
        print(pde, json.dumps(info))
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "trained": trained}, indent=1))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
