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
CERTIFICATE_FIELDS = ["certificate_bytes", "check_s", "check"]


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


def run_instance(inst: Instance, timeout_scale: float, device: str, threads: int | None,
                 certify: bool = False) -> dict:
    """Verify one instance; with `certify`, an `unsat` counts only once its certificate is
    built and the independent checker accepts it (as `certbound verify --certificate`)."""
    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import verify
    from core.verifier.certify import certified_result

    timeout = inst.timeout * timeout_scale
    checked = {}
    try:
        network = load_network(inst.folder / inst.onnx)
        prop = load_property(inst.folder / inst.vnnlib)
        result = verify(network, prop, VerifyConfig(timeout_s=timeout, device=device, threads=threads))
        if certify and result.verdict.value == "unsat":
            result, certified = certified_result(network, prop, result)
            checked = {"check": result.message} if certified is None else {
                "certificate_bytes": len(certified.data), "check_s": round(certified.check.time_s, 3),
                "check": str(certified.check)}
        verdict, elapsed, domains = result.verdict.value, result.elapsed_s, result.domains_visited
    except (OSError, ValueError) as exc:
        verdict, elapsed, domains = "error", 0.0, 0
        typer.echo(f"error: {inst.key}: {str(exc).splitlines()[0]}", err=True)
    row = {"benchmark": inst.benchmark, "onnx": inst.onnx, "vnnlib": inst.vnnlib, "timeout": timeout,
           "verdict": verdict, "time_s": round(elapsed, 3), "domains": domains, "expected": inst.expected,
           "correct": score(verdict, inst.expected)}
    if certify:
        row |= {field: checked.get(field, "") for field in CERTIFICATE_FIELDS}
    return row


def summarise(rows: list[dict]) -> list[list[str]]:
    """Per benchmark: instances, solved, wrong, unknown/timeout, median and total time; with
    certificates, also how many `unsat` answers the checker accepted and the check time as a
    share of the verify time (`certificate_summary`)."""
    table = []
    for name in sorted({r["benchmark"] for r in rows}):
        mine = [r for r in rows if r["benchmark"] == name]
        solved = [r for r in mine if r["correct"] == "yes"]
        wrong = sum(r["correct"] == "WRONG" for r in mine)
        open_ = sum(r["verdict"] not in ("sat", "unsat") for r in mine)
        times = [r["time_s"] for r in solved]
        median = f"{statistics.median(times):.2f}" if times else "-"
        line = [name, str(len(mine)), str(len(solved)), str(wrong), str(open_), median,
                f"{sum(r['time_s'] for r in mine):.1f}"]
        if "check" in mine[0]:
            line += certificate_summary(mine)
        table.append(line)
    return table


def certificate_summary(rows: list[dict]) -> list[str]:
    """"accepted/checked" over the rows whose certificate was checked, then the check time as a
    share of the verify time: the median over those instances, and all checks over all verifies."""
    checked = [r for r in rows if r["check"]]
    accepted = [r for r in checked if r["check"] == "valid"]
    shares = [r["check_s"] / r["time_s"] for r in accepted if r["time_s"] > 0]
    verify_s = sum(r["time_s"] for r in accepted)
    total = sum(r["check_s"] for r in accepted) / verify_s if verify_s > 0 else None
    return [f"{len(accepted)}/{len(checked)}", f"{statistics.median(shares):.1%}" if shares else "-",
            f"{total:.1%}" if total is not None else "-"]


def bench(
    folder: Path = typer.Argument(..., metavar="DIR", help="Benchmark folder, or a folder of them."),
    timeout_scale: float = typer.Option(1.0, "--timeout-scale", help="Multiply every instance's timeout."),
    filter_: str = typer.Option("", "--filter", help="Only instances whose benchmark/onnx/vnnlib matches."),
    out: Path | None = typer.Option(None, "--out", help="Write one CSV row per instance here."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default: chosen per run, "
                                       "docs/cli.md)."),
    certify: bool = typer.Option(False, "--certify", help="Check a certificate for every unsat; unsat counts only if valid."),
) -> None:
    """Run every instance, print a row each and a summary per benchmark; exit 1 on any wrong answer."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from core.commands.verify import check_device

    check_device(device)
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
        writer = csv.DictWriter(sink, FIELDS + CERTIFICATE_FIELDS * certify) if out else None
        if writer:
            writer.writeheader()
        task = bar.add_task("bench", total=len(instances))
        for inst in instances:
            bar.update(task, description=inst.key[-60:])
            row = run_instance(inst, timeout_scale, device, threads, certify)
            rows.append(row)
            if writer:
                writer.writerow(row)
                sink.flush()
            checked = f" check {row['check_s']}s {row['check']}" if certify and row["check"] else ""
            bar.console.print(f"{row['verdict']:8} {row['time_s']:8.2f}s expected={row['expected'] or '?':6} "
                              f"{row['correct']:5} {inst.key}{checked}")
            bar.advance(task)
    columns = ["benchmark", "instances", "solved", "wrong", "unknown/timeout", "median s (solved)", "total s"]
    table = Table(*columns, *(["certificates valid", "check share (median)", "check share (total)"] if certify else []))
    for line in summarise(rows):
        table.add_row(*line)
    console.print(table)
    if any(r["correct"] == "WRONG" for r in rows):
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.command("bench")(bench)
