"""Faithful distillation benchmark: a certified teacher and three students, certified against it.

Trains a teacher with certified training (IBP) and three students of a smaller
architecture from it by KD, adversarial KD and faithful distillation (`core.training`
methods kd, adv-kd, faithful-kd), then for each student at each ε runs
`core.distillation.faithfulness` on the first test examples: certified agreement (the
verifier on the joint network, a checked certificate per example), disagreement found by
PGD, and the confidence gap |p_T − p_S| in the teacher's class, certified and by PGD.
Clean accuracy is measured on the whole test set.

    python benchmarks/distillation_bench.py --data ../shared/datasets/mnist.npz \
        --train-subset 10000 --epochs 8 --n 30 --eps 0.05 0.1 --faithful-weights 0.3 1

prints a markdown table and writes every figure (and the networks) to --out-dir; networks
already in --out-dir (same file names) are reused instead of trained again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from core.distillation.config import FaithfulnessConfig
from core.distillation.faithfulness import faithfulness
from core.model import load_network
from core.training import TrainConfig, train
from core.training.data import load_dataset

def clean_accuracy(onnx: bytes, data: Path) -> float:
    test = load_dataset("mnist", data).test
    graph = load_network(onnx).graph
    with torch.no_grad():
        return float((graph.forward(test.images.double()).argmax(1) == test.labels).float().mean())


def trained(config: TrainConfig, path: Path) -> tuple[bytes, float]:
    """Train as `config` says (or reuse `path` from an earlier run); the bytes and the seconds it took."""
    if path.exists():
        return path.read_bytes(), 0.0
    started = time.monotonic()
    result = train(config)
    path.write_bytes(result.onnx)
    return result.onnx, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="MNIST .npz (e.g. ../shared/datasets/mnist.npz)")
    parser.add_argument("--out-dir", type=Path, default=Path("distillation-bench"))
    parser.add_argument("--teacher-arch", default="mlp-medium")
    parser.add_argument("--student-arch", default="mlp-small")
    parser.add_argument("--train-eps", type=float, default=0.1, help="ε of the teacher's and students' training")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1], help="ε of the evaluation")
    parser.add_argument("--train-subset", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--faithful-weights", type=float, nargs="+", default=[1.0],
                        help="λ of faithful-kd: one student per value")
    parser.add_argument("--n", type=int, default=50, help="test examples certified per student and ε")
    parser.add_argument("--example-timeout", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    common = dict(data=args.data, eps=args.train_eps, epochs=args.epochs, train_subset=args.train_subset,
                  test_subset=1000, eval_crown_subset=0, eval_alpha_subset=0, complete_subset=0, device="cpu")
    teacher_path = args.out_dir / "teacher.onnx"
    teacher, teacher_s = trained(TrainConfig(method="ibp", arch=args.teacher_arch, **common), teacher_path)
    rows = [{"network": f"teacher ({args.teacher_arch}, IBP)", "clean": clean_accuracy(teacher, args.data),
             "train_s": teacher_s}]
    students = [("kd", None), ("adv-kd", None)] + [("faithful-kd", w) for w in args.faithful_weights]
    for method, weight in students:
        config = TrainConfig(method=method, arch=args.student_arch, teacher=teacher_path,
                             faithful_weight=weight or 1.0, **common)
        name = method if weight is None else f"{method} λ={weight:g}"
        student, train_s = trained(config, args.out_dir / f"student-{name.replace(' λ=', '-w')}.onnx")
        row = {"network": f"student ({args.student_arch}, {name})", "clean": clean_accuracy(student, args.data),
               "train_s": train_s}
        for eps in args.eps:
            started = time.monotonic()
            report = faithfulness(teacher, student, FaithfulnessConfig(
                eps=eps, n=args.n, data=args.data, example_timeout_s=args.example_timeout, threads=args.threads,
                device="cpu"))
            row[f"eps={eps:g}"] = {**report.summary(), "certify_s": time.monotonic() - started}
            out = args.out_dir / f"faithfulness-{name.replace(' λ=', '-w')}-{eps:g}.json"
            out.write_text(json.dumps(report.to_dict(), indent=1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    (args.out_dir / "summary.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                           "rows": rows}, indent=1))
    print(table(rows, args.eps))


def table(rows: list[dict], eps_values: list[float]) -> str:
    pct = lambda v: "—" if v is None else f"{100 * v:.1f}"  # noqa: E731
    head = "| network | clean acc. % | train s |" + "".join(
        f" ε={e:g}: cert. agree % | emp. disagree % | cert. disagree % | gap PGD | gap cert. |" for e in eps_values)
    lines = [head, "|" + "---|" * (3 + 5 * len(eps_values))]
    for r in rows:
        line = f"| {r['network']} | {pct(r['clean'])} | {r['train_s']:.0f} |"
        for e in eps_values:
            s = r.get(f"eps={e:g}")
            line += " — | — | — | — | — |" if s is None else (
                f" {pct(s['certified_agreement'])} | {pct(s['empirical_disagreement'])} | "
                f"{pct(s['certified_disagreement'])} | {s['gap_empirical']:.3f} | {s['gap_certified']:.3f} |")
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
