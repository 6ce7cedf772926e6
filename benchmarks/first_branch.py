"""Time to first branch: how long the root pipeline (attack, CROWN, α, intermediate α,
lemmas) takes before branch and bound makes its first split (issue 29, item 3).

    PYTHONPATH=. python benchmarks/first_branch.py ../shared/benchmarks/oval21 [--filter REGEX]
        [--threads 1] [--jobs 1] [--after 5] [--device cpu] [--out first_branch.csv]

Each instance runs in a process of its own (its peak memory is then its own) with the
instance's timeout, and is stopped `--after` seconds into branch and bound, or when it
ends before. Per instance: the verdict, when each phase began (`VerifyResult.stats
["marks"]`, seconds into the run), the first branch as a share of the timeout, the
bytes of the root's intermediate boxes and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

MARKS = ["attack", "incomplete", "alpha", "intermediate_alpha", "lemmas", "bab", "first_branch"]


def probe(folder: Path, onnx: str, vnnlib: str, timeout: float, threads: int, after: float, device: str) -> dict:
    """Verify one instance until `after` seconds past its first branch; the row described above."""
    import torch

    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import pipeline

    torch.set_num_threads(threads)
    network, prop = load_network(folder / onnx), load_property(folder / vnnlib)
    roots: list = []
    tighten = pipeline.tighten_root

    def kept(*args, **kwargs):  # the root's boxes, to weigh them
        roots.append(tighten(*args, **kwargs))
        return roots[-1]

    pipeline.tighten_root = kept
    seen: dict[str, float] = {}

    def progress(event) -> bool:  # stop `after` seconds after branch and bound first counts a domain
        if event.phase != "bab" or not event.domains_visited:
            return False
        seen.setdefault("first", event.elapsed_s)
        return event.elapsed_s >= seen["first"] + after

    result = pipeline.verify(network, prop, VerifyConfig(timeout_s=timeout, threads=threads, device=device), progress)
    marks = result.stats.get("marks", {})
    box_bytes = sum(t.numel() * t.element_size() for root in roots for box in root.boxes.values()
                    for t in (box.lower, box.upper))
    row = {"vnnlib": Path(vnnlib).name.removesuffix(".gz"), "verdict": result.verdict.value,
           "time_s": round(result.elapsed_s, 2), "domains": result.domains_visited}
    row |= {f"{m}_s": marks.get(m, "") for m in MARKS}
    first = marks.get("first_branch")
    row["first_branch_share"] = round(first / timeout, 4) if first is not None else ""
    row["root_boxes_mb"] = round(box_bytes / 2**20, 1)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--filter", default="")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="instances at once, each in its own process")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of branch and bound before stopping")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from core.commands.bench import read_instances

    instances = [i for i in read_instances(args.folder) if re.search(args.filter, f"{i.onnx}/{i.vnnlib}")]
    rows = []
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(probe, i.folder, i.onnx, i.vnnlib, i.timeout, args.threads, args.after, args.device)
                   for i in instances]
        for future in futures:
            rows.append(future.result())
            print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    if args.out and rows:
        with open(args.out, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
