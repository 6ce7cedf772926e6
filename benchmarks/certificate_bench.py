"""Certificate sizes and check times against verification times, on shared unsat instances.

    python benchmarks/certificate_bench.py [--benchmarks DIR] [--timeout S] [--only TEXT] [--reference]

For each instance `core.verifier.verify` runs (CPU, one thread); for an `unsat` answer its
certificate is built from the proof records (`core.verifier.certify`, the same path as
`certbound verify --certificate` and the verify job) and checked by the independent
checker. The table shows the verify time, how the targets were closed, the certificate's
leaves and size, the check time and its share of the verify time, and the checker's
answer. With --reference, the test producer (tests/core/certificate/producer.py: input
splitting with the engine's CROWN) also proves the small-input instances, for comparison.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.certificate import check  # noqa: E402
from core.spec import load_property  # noqa: E402
from spec_bench import DEFAULT  # noqa: E402

INSTANCES = [
    ("test", "onnx/test_nano.onnx.gz", "vnnlib/test_nano.vnnlib.gz"),
    ("test", "onnx/test_tiny.onnx.gz", "vnnlib/test_tiny.vnnlib.gz"),
    ("test", "onnx/test_small.onnx.gz", "vnnlib/test_small.vnnlib.gz"),
    ("test", "onnx/test_unsat.onnx.gz", "vnnlib/test_prop.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_1.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_2.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_3.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_4.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_5.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_2_2_batch_2000.onnx.gz", "vnnlib/prop_4.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_3_3_batch_2000.onnx.gz", "vnnlib/prop_4.vnnlib.gz"),
    # issue 5: the hard one (input splitting with α closures; the check costs ~4x the verify time)
    ("acasxu", "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz", "vnnlib/prop_2.vnnlib.gz"),
    ("rl_benchmarks", "onnx/cartpole.onnx.gz", "vnnlib/cartpole_case_safe_45.vnnlib.gz"),
    ("rl_benchmarks", "onnx/dubinsrejoin.onnx.gz", "vnnlib/dubinsrejoin_case_safe_0.vnnlib.gz"),
    ("rl_benchmarks", "onnx/dubinsrejoin.onnx.gz", "vnnlib/dubinsrejoin_case_safe_15.vnnlib.gz"),
    ("rl_benchmarks", "onnx/lunarlander.onnx.gz", "vnnlib/lunarlander_case_safe_12.vnnlib.gz"),
    ("rl_benchmarks", "onnx/lunarlander.onnx.gz", "vnnlib/lunarlander_case_safe_17.vnnlib.gz"),
    ("tllverifybench", "onnx/tllBench_n=2_N=M=16_m=1_instance_1_0.onnx.gz", "vnnlib/property_N=16_0.vnnlib.gz"),
    ("tllverifybench", "onnx/tllBench_n=2_N=M=16_m=1_instance_1_2.onnx.gz", "vnnlib/property_N=16_2.vnnlib.gz"),
    ("reach_prob_density", "onnx/gcas.onnx.gz", "vnnlib/gcas_3.vnnlib.gz"),
    ("reach_prob_density", "onnx/vdp.onnx.gz", "vnnlib/vdp_5.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_11_0.05.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x4.onnx.gz", "vnnlib/prop_0_0.03.vnnlib.gz"),
    ("eran", "onnx/mnist_relu_9_200.onnx.gz", "vnnlib/mnist_spec_idx_3054_eps_0.01500.vnnlib.gz"),
    # Sigmoid (issue 6): closed at the root by CROWN, and by CROWN and α (tangent points as evidence)
    ("eran", "onnx/ffnnSIGMOID__Point_6x200.onnx.gz", "vnnlib/mnist_spec_idx_283_eps_0.01200.vnnlib.gz"),
    ("eran", "onnx/ffnnSIGMOID__Point_6x200.onnx.gz", "vnnlib/mnist_spec_idx_1150_eps_0.01200.vnnlib.gz"),
    # Conv: needs more than the default budget on a 2-core CPU (--timeout 300)
    ("oval21", "onnx/cifar_deep_kw.onnx.gz", "vnnlib/cifar_deep_kw-img8406-eps0.00392156862745098.vnnlib.gz"),
]


def from_verifier(net: Path, prop_path: Path, timeout: float) -> str:
    """Verify, certify (build the certificate from the proof records and check it)."""
    from core.config import VerifyConfig
    from core.model import load_network
    from core.verifier import verify
    from core.verifier.certify import certify

    network, prop = load_network(net), load_property(prop_path)
    started = time.monotonic()
    result = verify(network, prop, VerifyConfig(timeout_s=timeout, device="cpu", threads=1))
    verify_s = time.monotonic() - started
    if result.verdict.value != "unsat":
        return f"{verify_s:8.2f}s {result.verdict.value}"
    certified = certify(network, prop, result)
    closed = Counter(p["closed_by"] for p in result.certificate["targets"])
    how = "+".join(f"{n}x{k}" if n > 1 else k for k, n in sorted(closed.items()))
    leaves = sum(t.n_leaves for t in certified.certificate.targets)
    return (f"{verify_s:8.2f}s unsat {how:>12} {leaves:7d} {len(certified.data):9d} {certified.check.time_s:8.3f}s "
            f"{certified.check.time_s / verify_s:6.1%}  {certified.check}")


def from_reference(data: bytes, prop) -> str:
    """The test producer's certificate for the same instance (input splitting only)."""
    from tests.core.certificate.producer import GaveUp, produce

    if prop.n_inputs > 16:
        return "reference: not tried (many inputs)"
    started = time.monotonic()
    try:
        certificate = produce(data, prop, "input", 20000)
    except GaveUp as exc:
        return f"reference: {exc}"
    prove_s = time.monotonic() - started
    result = check(data, prop, certificate)
    return (f"reference {prove_s:.2f}s, {sum(t.n_leaves for t in certificate.targets)} leaves, "
            f"{len(certificate.to_bytes())} B, check {result.time_s:.3f}s: {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--timeout", type=float, default=120.0, help="verify budget per instance (s)")
    parser.add_argument("--only", default="", help="run the instances whose label contains this")
    parser.add_argument("--reference", action="store_true", help="also run the test producer")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"{'instance':58} {'verify':>9} {'answer':>5} {'closed by':>12} {'leaves':>7} {'bytes':>9} "
          f"{'check':>9} {'share':>6}  checker")
    for folder, net_name, prop_name in INSTANCES:
        label = f"{folder}/{Path(net_name).name.removesuffix('.onnx.gz')} {Path(prop_name).name.removesuffix('.vnnlib.gz')}"
        if args.only not in label:
            continue
        net, prop_path = args.benchmarks / folder / net_name, args.benchmarks / folder / prop_name
        line = f"{label:58} {from_verifier(net, prop_path, args.timeout)}"
        if args.reference:
            line += "  | " + from_reference(gzip.decompress(net.read_bytes()), load_property(prop_path))
        print(line, flush=True)


if __name__ == "__main__":
    main()
