"""The same instances verified on the CPU and on CUDA: verdicts, times, certificates.

    python benchmarks/device_bench.py [--benchmarks DIR] [--timeout S] [--deadline S] [--only TEXT]
                                      [--devices cpu,cuda] [--out FILE]

Each instance runs once per device with every other setting left at its default (threads,
dtype, batch: what a user who passes no flags gets), after one untimed warm-up run per
device on the first instance. An `unsat` answer is certified the way the verify job does it
(`core.verifier.certify`: the certificate is built from the proof records and checked by the
independent float64 checker on the CPU); a `sat` answer's counterexample was replayed in
onnxruntime by the verifier already. The table gives, per device, the verdict (with `*` where
the certificate was rejected), seconds and domains visited, the expected answer and the
CPU/CUDA time ratio. Rows are printed as they finish, and the whole run stops starting new
instances after --deadline seconds so that a time-limited machine still returns a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import VerifyConfig  # noqa: E402
from core.model import load_network  # noqa: E402
from core.spec import load_property  # noqa: E402
from core.verifier import verify  # noqa: E402
from core.verifier.certify import certify  # noqa: E402
from spec_bench import DEFAULT  # noqa: E402

INSTANCES = [
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_2.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_5.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_11_0.05.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x4.onnx.gz", "vnnlib/prop_0_0.03.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x6.onnx.gz", "vnnlib/prop_1_0.05.vnnlib.gz"),
    ("eran", "onnx/mnist_relu_9_200.onnx.gz", "vnnlib/mnist_spec_idx_3054_eps_0.01500.vnnlib.gz"),
    ("oval21", "onnx/cifar_base_kw.onnx.gz", "vnnlib/cifar_base_kw-img1697-eps0.0014379084967320263.vnnlib.gz"),
    ("oval21", "onnx/cifar_deep_kw.onnx.gz", "vnnlib/cifar_deep_kw-img8406-eps0.00392156862745098.vnnlib.gz"),
    ("oval21", "onnx/cifar_wide_kw.onnx.gz", "vnnlib/cifar_wide_kw-img4720-eps0.008758169934640524.vnnlib.gz"),
    ("oval21", "onnx/cifar_base_kw.onnx.gz", "vnnlib/cifar_base_kw-img2908-eps0.019869281045751634.vnnlib.gz"),
    ("oval21", "onnx/cifar_deep_kw.onnx.gz", "vnnlib/cifar_deep_kw-img5168-eps0.016209150326797386.vnnlib.gz"),
    ("oval21", "onnx/cifar_base_kw.onnx.gz", "vnnlib/cifar_base_kw-img3161-eps0.018562091503267972.vnnlib.gz"),
]


def expected_answer(folder: Path, net_name: str, prop_name: str) -> str:
    """The benchmark's expected answer from its expected.csv ("?" where it has none)."""
    table = folder / "expected.csv"
    if table.exists():
        with table.open() as handle:
            for row in csv.DictReader(handle):
                if row["onnx"] == net_name and row["vnnlib"] == prop_name:
                    return row["expected"]
    return "?"


def run(net_path: Path, prop_path: Path, device: str, timeout: float) -> dict:
    """One default verification on `device`, certified when it answers unsat."""
    network, prop = load_network(net_path), load_property(prop_path)
    started = time.monotonic()
    result = verify(network, prop, VerifyConfig(timeout_s=timeout, device=device))
    seconds = time.monotonic() - started
    row = {"verdict": result.verdict.value, "s": round(seconds, 2), "domains": result.domains_visited,
           "dtype": result.stats.get("dtype", ""), "certificate": ""}
    if row["verdict"] == "unsat":
        certified = certify(network, prop, result)
        row["certificate"] = "valid" if certified.check.valid else f"rejected: {certified.check}"
        row["check_s"] = round(certified.check.time_s, 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--timeout", type=float, default=60.0, help="verify budget per instance and device (s)")
    parser.add_argument("--deadline", type=float, default=1e9, help="start no instance after this many seconds")
    parser.add_argument("--only", default="", help="run the instances whose label contains this")
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--out", type=Path, help="also write the rows here as JSON lines")
    args = parser.parse_args()
    devices = args.devices.split(",")
    instances = [i for i in INSTANCES if args.only in f"{i[0]}/{i[1]} {i[2]}"]
    first = args.benchmarks / instances[0][0]
    for device in devices:  # untimed warm-up: CUDA context, kernels, thread pools
        run(first / instances[0][1], first / instances[0][2], device, 10.0)
    started = time.monotonic()
    header = f"{'instance':62} {'expected':>8} " + " ".join(f"{d + ' verdict':>14} {'s':>7} {'domains':>8}"
                                                             for d in devices)
    print(header + ("  cpu/cuda" if devices == ["cpu", "cuda"] else ""), flush=True)
    for folder_name, net_name, prop_name in instances:
        if time.monotonic() - started > args.deadline:
            print(f"deadline of {args.deadline:.0f} s reached: later instances not run", flush=True)
            break
        folder = args.benchmarks / folder_name
        label = f"{folder_name}/{Path(net_name).name.removesuffix('.onnx.gz')} " \
                f"{Path(prop_name).name.removesuffix('.vnnlib.gz')}"
        rows = {d: run(folder / net_name, folder / prop_name, d, args.timeout) for d in devices}
        cells = []
        for device in devices:
            row = rows[device]
            mark = "*" if row["certificate"].startswith("rejected") else ""
            cells.append(f"{row['verdict'] + mark:>14} {row['s']:7.2f} {row['domains']:8d}")
        line = f"{label[:62]:62} {expected_answer(folder, net_name, prop_name):>8} " + " ".join(cells)
        if devices == ["cpu", "cuda"]:
            line += f"  {rows['cpu']['s'] / max(rows['cuda']['s'], 1e-9):8.2f}"
        print(line, flush=True)
        if args.out:
            with args.out.open("a") as handle:
                handle.write(json.dumps({"instance": label, **{d: rows[d] for d in devices}}) + "\n")


if __name__ == "__main__":
    main()
