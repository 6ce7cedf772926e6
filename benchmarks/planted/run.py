"""Run certbound on a planted benchmark folder and score it: per instance found / missed /
wrong (planted, sat) or proved / open / wrong (decoys, unsat), then a table per family and
side. Each instance runs through `certbound bench`'s runner (`core.commands.bench`), so the
verdicts are the same as `certbound bench DIR` gives.
"""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from pathlib import Path


def outcome(kind: str, verdict: str, expected: str) -> str:
    """"found" / "missed" for a planted counterexample, "proved" / "open" for a decoy, and
    "WRONG" for any definite answer that contradicts the known one."""
    if verdict in ("sat", "unsat") and verdict != expected:
        return "WRONG"
    if kind == "planted":
        return "found" if verdict == "sat" else "missed"
    return "proved" if verdict == "unsat" else "open"


def annotations(folder: Path) -> dict[tuple[str, str], dict]:
    """expected.csv's rows (kind, family, side, ...) by (onnx, vnnlib)."""
    with open(folder / "expected.csv", newline="") as f:
        return {(r["onnx"], r["vnnlib"]): r for r in csv.DictReader(f)}


def summary(rows: list[dict]) -> list[str]:
    """Markdown table lines: per family and side, planted found/total, decoys proved/total, wrong."""
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        cell = cells[(r["family"], r["side"])]
        cell[r["kind"]] += 1
        cell[r["outcome"]] += 1
    lines = ["| family | side | planted found | decoys proved | wrong |", "|---|---|---|---|---|"]
    total: dict[str, int] = defaultdict(int)
    for (family, side), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], -float(kv[0][1]))):
        lines.append(f"| {family} | {side} | {cell['found']}/{cell['planted']} | {cell['proved']}/{cell['decoy']} "
                     f"| {cell['WRONG']} |")
        for key, value in cell.items():
            total[key] += value
    lines.append(f"| all | | {total['found']}/{total['planted']} | {total['proved']}/{total['decoy']} | {total['WRONG']} |")
    return lines


def run_folder(folder: Path, timeout: float | None, threads: int | None, certify: bool, filter_: str,
               out: Path | None) -> int:
    """Verify every instance of `folder` (each with `timeout` seconds, or instances.csv's);
    exit status 1 when any answer is wrong."""
    from core.commands.bench import read_instances, run_instance

    notes = annotations(folder)
    pattern = re.compile(filter_)
    instances = [i for i in read_instances(folder) if pattern.search(f"{i.onnx}/{i.vnnlib}")]
    rows = []
    start = time.monotonic()
    for inst in instances:
        scale = timeout / inst.timeout if timeout else 1.0
        row = run_instance(inst, scale, "cpu", threads, certify)
        note = notes[(inst.onnx, inst.vnnlib)]
        row |= {"kind": note["kind"], "family": note["family"], "side": note["side"],
                "outcome": outcome(note["kind"], row["verdict"], row["expected"])}
        if certify and row["verdict"] == "unsat" and row.get("check") != "valid":
            row["outcome"] = "open"  # an unsat whose certificate does not check is no proof
        rows.append(row)
        print(f"{row['outcome']:7} {row['verdict']:8} {row['time_s']:8.2f}s domains={row['domains']:<8} "
              f"{Path(inst.vnnlib).name}", flush=True)
    print()
    print("\n".join(summary(rows)))
    print(f"\n{len(rows)} instances, {time.monotonic() - start:.0f} s")
    if out:
        with open(out, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return 1 if any(r["outcome"] == "WRONG" for r in rows) else 0
