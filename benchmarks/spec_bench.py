"""Parse times of the biggest VNN-LIB properties in the shared benchmarks.

    python benchmarks/spec_bench.py [--benchmarks DIR] [--top N] [--repeat R]

Finds the N largest properties (by unpacked size) across all benchmark folders, plus the
largest of each folder, and prints the best of R parse times of each (gunzip excluded),
with the shape of the result. Also prints the total time to load every property.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

from core.spec import load_property, parse_vnnlib

DEFAULT = Path(os.environ.get("CERTBOUND_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "benchmarks"


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def arguments(doc: str, top: int, repeat: int) -> argparse.Namespace:
    """The options every shared-benchmark timing script takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--top", type=int, default=top)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser.parse_args()


def largest(files: list[Path], size, top: int) -> list[Path]:
    """The `top` largest files by `size(path)`, then the largest of each benchmark folder."""
    by_size = sorted(files, key=size, reverse=True)
    per_folder: dict[str, Path] = {}
    for path in by_size:
        per_folder.setdefault(path.parts[-3], path)
    return list(dict.fromkeys(by_size[:top] + list(per_folder.values())))


def main() -> None:
    args = arguments(__doc__, top=5, repeat=5)
    files = sorted(args.benchmarks.glob("*/vnnlib/*.vnnlib.gz"))
    if not files:
        raise SystemExit(f"no properties under {args.benchmarks}")
    texts = {path: gzip.decompress(path.read_bytes()).decode() for path in files}
    chosen = largest(files, lambda p: len(texts[p]), args.top)

    print(f"{'property':<62} {'KiB':>6} {'ms':>7} {'inputs':>6} {'regions':>7} {'disjuncts':>9}")
    for path in chosen:
        text = texts[path]
        prop = parse_vnnlib(text)
        ms = 1000 * best_time(lambda: parse_vnnlib(text), args.repeat)
        name = f"{path.parts[-3]}/{path.name}"
        print(f"{name[:62]:<62} {len(text) / 1024:6.0f} {ms:7.1f} {prop.n_inputs:6d} "
              f"{len(prop.regions):7d} {prop.n_disjuncts:9d}")
    total = best_time(lambda: [load_property(p) for p in files], 1)
    print(f"\nall {len(files)} properties, gunzip included: {total:.2f} s "
          f"({1000 * total / len(files):.1f} ms each on average)")


if __name__ == "__main__":
    main()
