"""Load times of the biggest ONNX networks in the shared benchmarks, and the parse time of
the biggest property.

    python benchmarks/frontend_bench.py [--benchmarks DIR] [--top N] [--repeat R]

For the N largest networks (by unpacked size) plus the largest of each folder, prints the
best of R times for: `summarize_onnx` (the API's torch-free upload check, gunzip
excluded), `load_network` (gunzip, parse, convert, fold), and one forward pass of a batch
of 256 in float64 on the CPU. Then the biggest property's parse time.
"""

from __future__ import annotations

import argparse
import gzip
import struct
from pathlib import Path

import torch

from core.model import load_network
from core.model.summary import summarize_onnx
from core.spec import load_property
from spec_bench import DEFAULT, best_time


def unzipped_size(path: Path) -> int:
    with path.open("rb") as f:
        f.seek(-4, 2)
        return struct.unpack("<I", f.read(4))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = sorted(args.benchmarks.glob("*/onnx/*.onnx.gz"))
    if not files:
        raise SystemExit(f"no networks under {args.benchmarks}")
    by_size = sorted(files, key=unzipped_size, reverse=True)
    largest_per_folder = {}
    for path in by_size:
        largest_per_folder.setdefault(path.parts[-3], path)
    chosen = list(dict.fromkeys(by_size[: args.top] + list(largest_per_folder.values())))

    torch.set_num_threads(1)
    print(f"{'network':<58} {'MB':>6} {'params':>11} {'summary ms':>10} {'load s':>7} {'fwd256 ms':>9} {'nodes':>5}")
    for path in chosen:
        data = gzip.decompress(path.read_bytes())
        summary = summarize_onnx(data)
        t_summary = best_time(lambda: summarize_onnx(data), args.repeat)
        t_load = best_time(lambda: load_network(path), args.repeat)
        net = load_network(path)
        x = torch.rand(256, *net.input_shape, dtype=torch.float64)
        with torch.no_grad():
            t_fwd = best_time(lambda: net.graph.forward(x), args.repeat)
        name = f"{path.parts[-3]}/{path.name}"
        print(f"{name[:58]:<58} {len(data) / 1e6:6.1f} {summary.n_params:11,d} {1000 * t_summary:10.2f} {t_load:7.3f} "
              f"{1000 * t_fwd:9.1f} {len(net.graph.nodes):5d}")

    props = sorted(args.benchmarks.glob("*/vnnlib/*.vnnlib.gz"), key=unzipped_size, reverse=True)
    if props:
        biggest = props[0]
        t_prop = best_time(lambda: load_property(biggest), args.repeat)
        print(f"\nbiggest property {biggest.parts[-3]}/{biggest.name} ({unzipped_size(biggest) / 1e6:.1f} MB "
              f"unpacked): load_property {t_prop:.3f} s (gunzip included)")


if __name__ == "__main__":
    main()
