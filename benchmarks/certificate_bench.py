"""Certificate sizes and check times against verification times, on shared unsat instances.

    python benchmarks/certificate_bench.py [--benchmarks DIR] [--verifier] [--max-domains N]

For each instance: the reference prover in tests/core/certificate/producer.py (branch and
bound with the engine's CROWN / α-CROWN, recording through `CertificateBuilder`) builds a
certificate; the table shows its time, the number of leaves, the file size and the
independent checker's time and answer. With --verifier, `core.verifier.verify`'s own
wall time on the instance is shown too (it does not write certificates yet).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.certificate import check  # noqa: E402
from core.spec import load_property  # noqa: E402
from spec_bench import DEFAULT  # noqa: E402
from tests.core.certificate.producer import GaveUp, produce  # noqa: E402

INSTANCES = [
    ("test", "onnx/test_nano.onnx.gz", "vnnlib/test_nano.vnnlib.gz", "input"),
    ("test", "onnx/test_small.onnx.gz", "vnnlib/test_small.vnnlib.gz", "input"),
    ("test", "onnx/test_unsat.onnx.gz", "vnnlib/test_prop.vnnlib.gz", "input"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_1.vnnlib.gz", "input"),
    ("acasxu", "onnx/ACASXU_run2a_3_7_batch_2000.onnx.gz", "vnnlib/prop_3.vnnlib.gz", "input"),
    ("acasxu", "onnx/ACASXU_run2a_4_1_batch_2000.onnx.gz", "vnnlib/prop_4.vnnlib.gz", "input"),
    ("rl_benchmarks", "onnx/cartpole.onnx.gz", "vnnlib/cartpole_case_safe_45.vnnlib.gz", "input"),
    ("rl_benchmarks", "onnx/dubinsrejoin.onnx.gz", "vnnlib/dubinsrejoin_case_safe_15.vnnlib.gz", "input"),
]


def verifier_time(net: Path, prop: Path) -> str:
    from core.config import VerifyConfig
    from core.model import load_network
    from core.verifier import verify

    started = time.monotonic()
    result = verify(load_network(net), load_property(prop), VerifyConfig(timeout_s=120, device="cpu"))
    return f"{time.monotonic() - started:.2f}s ({result.verdict.value})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--verifier", action="store_true", help="also time core.verifier.verify")
    parser.add_argument("--max-domains", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'instance':58} {'prove':>8} {'leaves':>7} {'bytes':>8} {'check':>8} {'ratio':>6}  answer"
          + ("  verifier" if args.verifier else ""))
    for folder, net_name, prop_name, branching in INSTANCES:
        net, prop_path = args.benchmarks / folder / net_name, args.benchmarks / folder / prop_name
        data, prop = gzip.decompress(net.read_bytes()), load_property(prop_path)
        label = f"{folder}/{Path(net_name).name.removesuffix('.onnx.gz')} {Path(prop_name).name.removesuffix('.vnnlib.gz')}"
        started = time.monotonic()
        try:
            certificate = produce(data, prop, branching, args.max_domains)
        except GaveUp as exc:
            print(f"{label:58} reference prover gave up: {exc}")
            continue
        prove_s = time.monotonic() - started
        size = len(certificate.to_bytes())
        result = check(data, prop, certificate)
        leaves = sum(t.n_leaves for t in certificate.targets)
        line = (f"{label:58} {prove_s:7.2f}s {leaves:7d} {size:8d} {result.time_s:7.3f}s "
                f"{result.time_s / prove_s:6.1%}  {result}")
        if args.verifier:
            line += "  " + verifier_time(net, prop_path)
        print(line, flush=True)


if __name__ == "__main__":
    main()
