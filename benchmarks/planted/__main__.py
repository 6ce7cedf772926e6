"""python -m benchmarks.planted: generate the planted benchmark, or run certbound on it.

    python -m benchmarks.planted generate OUT_DIR [--seed N]
    python -m benchmarks.planted run DIR [--timeout S] [--threads N] [--certify] [--filter REGEX] [--out CSV]

`generate` writes the VNN-COMP layout (onnx/, vnnlib/, instances.csv, expected.csv,
witnesses.csv); the same seed gives the same bytes. `run` verifies every instance through
`certbound bench`'s runner and prints found / missed / wrong per instance and a summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.planted", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the benchmark folder")
    gen.add_argument("out", type=Path, metavar="OUT_DIR")
    gen.add_argument("--seed", type=int, default=0)
    run = commands.add_parser("run", help="verify every instance and score it")
    run.add_argument("folder", type=Path, metavar="DIR")
    run.add_argument("--timeout", type=float, default=None, help="seconds per instance (default: instances.csv's)")
    run.add_argument("--threads", type=int, default=1, help="CPU threads per run (default 1)")
    run.add_argument("--certify", action="store_true", help="an unsat counts only once its certificate checks")
    run.add_argument("--filter", default="", help="only instances whose onnx/vnnlib matches this regex")
    run.add_argument("--out", type=Path, default=None, help="write one CSV row per instance here")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from benchmarks.planted.generate import generate, specs, write

        instances = []
        for spec in specs(args.seed):
            start = time.monotonic()
            instances.append(generate(spec))
            print(f"{spec.name:32} {instances[-1].expected:6} {time.monotonic() - start:6.1f}s", flush=True)
        write(instances, args.out)
        print(f"{len(instances)} instances in {args.out}")
        return 0
    from benchmarks.planted.run import run_folder

    return run_folder(args.folder, args.timeout, args.threads, args.certify, args.filter, args.out)


if __name__ == "__main__":
    sys.exit(main())
