"""`certbound bench DIR`: run VNN-COMP benchmark folders and score the answers.

DIR is one benchmark folder (with `instances.csv`, and `expected.csv` when answers are
known) or a folder of such folders. Instances run one after another in this process.
"""

from __future__ import annotations

import contextlib
import csv
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import typer

FIELDS = ["benchmark", "onnx", "vnnlib", "timeout", "verdict", "time_s", "domains", "expected", "correct"]


@dataclass
class Instance:
    benchmark: str
    folder: Path
    onnx: str
    vnnlib: str
    timeout: float
    expected: str

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.onnx}/{self.vnnlib}"


def read_instances(root: Path) -> list[Instance]:
    """Every instance under `root` (a benchmark folder or a folder of them), in file order."""
    folders = [root] if (root / "instances.csv").is_file() else sorted(
        p for p in root.iterdir() if (p / "instances.csv").is_file())
    out = []
    for folder in folders:
        expected = {}
        if (folder / "expected.csv").is_file():
            with open(folder / "expected.csv", newline="") as f:
                expected = {(r["onnx"], r["vnnlib"]): r["expected"] for r in csv.DictReader(f)}
        with open(folder / "instances.csv", newline="") as f:
            for row in csv.reader(f):
                if len(row) < 3 or not row[0].strip():
                    continue
                onnx, vnnlib, timeout = (c.strip() for c in row[:3])
                out.append(Instance(folder.name, folder, onnx, vnnlib, float(timeout),
                                    expected.get((onnx, vnnlib), "")))
    return out


def score(verdict: str, expected: str) -> str:
    """"yes" / "WRONG" for a definite answer against a known one, "" otherwise."""
    if verdict not in ("sat", "unsat") or expected not in ("sat", "unsat"):
        return ""
    return "yes" if verdict == expected else "WRONG"


def run_instance(inst: Instance, timeout_scale: float, device: str, threads: int | None) -> dict:
    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import verify

    timeout = inst.timeout * timeout_scale
    try:
        network = load_network(inst.folder / inst.onnx)
        prop = load_property(inst.folder / inst.vnnlib)
        result = verify(network, prop, VerifyConfig(timeout_s=timeout, device=device, threads=threads))
        verdict, elapsed, domains = result.verdict.value, result.elapsed_s, result.domains_visited
    except (OSError, ValueError) as exc:
        verdict, elapsed, domains = "error", 0.0, 0
        typer.echo(f"error: {inst.key}: {str(exc).splitlines()[0]}", err=True)
    return {"benchmark": inst.benchmark, "onnx": inst.onnx, "vnnlib": inst.vnnlib, "timeout": timeout,
            "verdict": verdict, "time_s": round(elapsed, 3), "domains": domains, "expected": inst.expected,
            "correct": score(verdict, inst.expected)}


def summarise(rows: list[dict]) -> list[list[str]]:
    """Per benchmark: instances, solved, wrong, unknown/timeout, median and total time."""
    table = []
    for name in sorted({r["benchmark"] for r in rows}):
        mine = [r for r in rows if r["benchmark"] == name]
        solved = [r for r in mine if r["correct"] == "yes"]
        wrong = sum(r["correct"] == "WRONG" for r in mine)
        open_ = sum(r["verdict"] not in ("sat", "unsat") for r in mine)
        times = [r["time_s"] for r in solved]
        median = f"{statistics.median(times):.2f}" if times else "-"
        table.append([name, str(len(mine)), str(len(solved)), str(wrong), str(open_), median,
                      f"{sum(r['time_s'] for r in mine):.1f}"])
    return table


def bench(
    folder: Path = typer.Argument(..., metavar="DIR", help="Benchmark folder, or a folder of them."),
    timeout_scale: float = typer.Option(1.0, "--timeout-scale", help="Multiply every instance's timeout."),
    filter_: str = typer.Option("", "--filter", help="Only instances whose benchmark/onnx/vnnlib matches."),
    out: Path | None = typer.Option(None, "--out", help="Write one CSV row per instance here."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default: torch's choice)."),
) -> None:
    """Run every instance, print a row each and a summary per benchmark; exit 1 on any wrong answer."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    if not folder.is_dir():
        typer.echo(f"error: {folder}: not a folder", err=True)
        raise typer.Exit(2)
    try:
        pattern = re.compile(filter_)
    except re.error as exc:
        typer.echo(f"error: --filter {filter_!r}: {exc}", err=True)
        raise typer.Exit(2) from None
    instances = [i for i in read_instances(folder) if pattern.search(i.key)]
    if not instances:
        typer.echo(f"error: {folder}: no instances (instances.csv) match {filter_!r}", err=True)
        raise typer.Exit(2)
    console = Console()
    rows = []
    with open(out, "w", newline="") if out else contextlib.nullcontext() as sink, Progress(console=console) as bar:
        writer = csv.DictWriter(sink, FIELDS) if out else None
        if writer:
            writer.writeheader()
        task = bar.add_task("bench", total=len(instances))
        for inst in instances:
            bar.update(task, description=inst.key[-60:])
            row = run_instance(inst, timeout_scale, device, threads)
            rows.append(row)
            if writer:
                writer.writerow(row)
                sink.flush()
            bar.console.print(f"{row['verdict']:8} {row['time_s']:8.2f}s expected={row['expected'] or '?':6} "
                              f"{row['correct']:5} {inst.key}")
            bar.advance(task)
    table = Table("benchmark", "instances", "solved", "wrong", "unknown/timeout", "median s (solved)", "total s")
    for line in summarise(rows):
        table.add_row(*line)
    console.print(table)
    if any(r["correct"] == "WRONG" for r in rows):
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.command("bench")(bench)
