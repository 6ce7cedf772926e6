"""python -m benchmarks.reliability: run the reliability suite and print its figure table.

    python -m benchmarks.reliability [--backend embedded,postgres] [--parts chaos,load,fuzz,hostile]
                                     [--quick] [--markdown FILE] [--json FILE]
    python -m benchmarks.reliability --url http://host:8000 --token cb_... [--parts load,fuzz,hostile]

Each part runs on a fresh local deployment of each backend (see deployment.py), or on
the deployment at --url (chaos needs a local one: it kills processes). The exit status is
1 when a figure misses what the issue requires of it (listed after the table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks.reliability.common import QUICK, submit, upload_pair
from benchmarks.reliability.deployment import REPO, Deployment
from benchmarks.reliability.figures import ROWS, requirement_text, violations

PARTS = ("chaos", "load", "fuzz", "hostile")
SIZES = {
    "full": {"chaos": {"worker_kills": 3, "serve_kills": 2}, "load": {"levels": (50, 100, 200, 400)},
             "fuzz": {"max_examples": 30}},
    "quick": {"chaos": {"worker_kills": 2, "serve_kills": 1}, "load": {"levels": (50,), "n_requests": 200},
              "fuzz": {"max_examples": 10}},
}


def known_ids(deployment: Deployment) -> dict[str, str]:
    """A model, a property and a (finished or queued) job of the token's owner, for the fuzz."""
    model, prop, _ = QUICK[0]
    with deployment.client() as client:
        model_id, property_id = upload_pair(client, model, prop)
        response = submit(client, model_id, property_id, timeout_s=30)
        response.raise_for_status()
        return {"model": model_id, "property": property_id, "job": response.json()["id"]}


def run_part(part: str, deployment: Deployment, size: dict[str, Any]) -> list[dict[str, Any]]:
    if part == "chaos":
        from benchmarks.reliability.chaos import run_chaos

        return [run_chaos(deployment, **size["chaos"])]
    if part == "load":
        from benchmarks.reliability.load import run_load, upload_model

        model_id = upload_model(deployment.base_url, deployment.token)
        results = []
        for level in size["load"]["levels"]:
            n = size["load"].get("n_requests") or max(200, 2 * level)
            result = run_load(deployment.base_url, deployment.token, level, n, model_id=model_id)
            results.append({**result, "polls": n})
        return results
    if part == "fuzz":
        from benchmarks.reliability.fuzz import run_fuzz

        return [run_fuzz(deployment.token, root_url=deployment.root_url, known_ids=known_ids(deployment),
                         **size["fuzz"])]
    from benchmarks.reliability.hostile import run_hostile

    return [run_hostile(deployment)]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def table_rows(results: dict[str, dict[str, list[dict[str, Any]]]], backends: list[str]) -> list[list[str]]:
    """[part, figure, required, value per backend] for every figure, in the parts' order."""
    order: list[tuple[str, str]] = []
    values: dict[tuple[str, str], dict[str, str]] = {}
    required: dict[tuple[str, str], str] = {}
    for backend in backends:
        for part, runs in results.get(backend, {}).items():
            for result in runs:
                extra = [("wall time of the part (s)", f"{result['wall_s']:.0f}", None)] if "wall_s" in result else []
                for figure, value, requirement in ROWS[part](result) + extra:
                    key = (part, figure)
                    if key not in values:
                        order.append(key)
                        values[key] = {}
                    values[key][backend] = str(value)
                    required[key] = requirement_text(requirement)
    return [[part, figure, required[(part, figure)], *(values[(part, figure)].get(b, "") for b in backends)]
            for part, figure in order]


def markdown(rows: list[list[str]], backends: list[str], header: str) -> str:
    lines = [header, "", "| part | figure | required | " + " | ".join(backends) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in backends) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="embedded", help="embedded, postgres, or both comma-separated")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--quick", action="store_true", help="the small sizes CI runs")
    parser.add_argument("--url", help="attach to this running deployment instead of starting one")
    parser.add_argument("--token", help="its bearer token (with --url)")
    parser.add_argument("--markdown", type=Path, help="also write the table here as markdown")
    parser.add_argument("--json", type=Path, help="also write every part's raw figures here")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.url and not args.token:
        parser.error("--url needs --token")
    backends = ["attached"] if args.url else [b.strip() for b in args.backend.split(",") if b.strip()]
    size = SIZES["quick" if args.quick else "full"]
    console = Console(stderr=True)
    started = datetime.now(timezone.utc)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for backend in backends:
        for part in parts:
            if part == "chaos" and args.url:
                console.print("chaos skipped: it needs a local deployment (it kills processes)")
                continue
            console.print(f"[bold]{part}[/bold] on {backend} ...")
            t0 = time.monotonic()
            deployment = Deployment.attach(args.url, args.token) if args.url else Deployment.start(backend)
            try:
                runs = run_part(part, deployment, size)
            finally:
                if not args.url:
                    deployment.stop()
            seconds = time.monotonic() - t0
            runs[-1]["wall_s"] = seconds  # the part's time, deployment start and stop included
            results.setdefault(backend, {})[part] = runs
            console.print(f"  {part} on {backend}: {seconds:.0f} s")
    rows = table_rows(results, backends)
    header = (f"Reliability suite, {started:%Y-%m-%d %H:%M} UTC, commit {commit()}, {machine()}; "
              f"{'quick' if args.quick else 'full'} sizes; parts {', '.join(parts)}.")
    table = Table(title=header, show_lines=False)
    for column in ("part", "figure", "required", *backends):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console().print(table)
    missed = [v for backend in backends for part, runs in results.get(backend, {}).items()
              for result in runs for v in (f"[{backend}] {text}" for text in violations(part, result))]
    if args.markdown:
        args.markdown.write_text(markdown(rows, backends, header))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "results": results}, indent=1, default=str))
    for text in missed:
        Console().print(f"[red]MISSED[/red] {escape(text)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
