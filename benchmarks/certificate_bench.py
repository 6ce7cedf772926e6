"""Certificate sizes and check times against verification times, on shared unsat instances.

    python benchmarks/certificate_bench.py [--benchmarks DIR] [--verifier] [--max-domains N]

For each instance: the reference prover in tests/core/certificate/producer.py (branch and
bound with the engine's CROWN / α-CROWN, recording through `CertificateBuilder`) builds a
certificate; the table shows its time, the number of leaves, the file size and the
independent checker's time and answer. With --verifier, `core.verifier.verify` runs too,
its proof trees (`result.certificate["targets"]`) become a certificate through
`CertificateBuilder` with default parameters (it does not hand over α/β yet), and that
certificate's size, check time and answer are shown against the verifier's time.
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
    ("tllverifybench", "onnx/tllBench_n=2_N=M=16_m=1_instance_1_0.onnx.gz", "vnnlib/property_N=16_0.vnnlib.gz", "input"),
    ("reach_prob_density", "onnx/vdp.onnx.gz", "vnnlib/vdp_5.vnnlib.gz", "input"),
    # 784 inputs: the reference prover's input splitting cannot; only the verifier's trees are checked
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_9_0.03.vnnlib.gz", None),
    ("eran", "onnx/mnist_relu_9_200.onnx.gz", "vnnlib/mnist_spec_idx_742_eps_0.01500.vnnlib.gz", None),
]


def from_verifier(net: Path, prop_path: Path) -> str:
    """Verify, turn the verifier's proof trees into a certificate, check it."""
    from core.certificate import certificate_from_proofs, property_digest
    from core.config import VerifyConfig
    from core.model import load_network
    from core.model.ops.relu import Relu
    from core.verifier import verify

    network, prop = load_network(net), load_property(prop_path)
    started = time.monotonic()
    result = verify(network, prop, VerifyConfig(timeout_s=120, device="cpu"))
    verify_s = time.monotonic() - started
    if result.verdict.value != "unsat":
        return f"verifier {verify_s:.2f}s {result.verdict.value}"
    relus = [n.name for n in network.graph.nodes if isinstance(n.op, Relu)]
    certificate = certificate_from_proofs(network.sha256, property_digest(prop), relus,
                                          result.certificate["targets"], {"name": "core.verifier"})
    checked = check(network.onnx_bytes, prop, certificate)
    return (f"verifier {verify_s:.2f}s unsat, {len(certificate.to_bytes())} bytes, check {checked.time_s:.3f}s "
            f"({checked.time_s / verify_s:.1%}): {checked}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT)
    parser.add_argument("--verifier", action="store_true", help="also time core.verifier.verify")
    parser.add_argument("--max-domains", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'instance':58} {'prove':>8} {'leaves':>7} {'bytes':>8} {'check':>8} {'ratio':>6}  answer"
          + ("  | the verifier's own trees" if args.verifier else ""))
    for folder, net_name, prop_name, branching in INSTANCES:
        net, prop_path = args.benchmarks / folder / net_name, args.benchmarks / folder / prop_name
        data, prop = gzip.decompress(net.read_bytes()), load_property(prop_path)
        label = f"{folder}/{Path(net_name).name.removesuffix('.onnx.gz')} {Path(prop_name).name.removesuffix('.vnnlib.gz')}"
        started = time.monotonic()
        try:
            if branching is None:
                raise GaveUp("not tried")
            certificate = produce(data, prop, branching, args.max_domains)
        except GaveUp as exc:
            tail = f"  | {from_verifier(net, prop_path)}" if args.verifier else ""
            print(f"{label:58} reference prover: {exc}{tail}", flush=True)
            continue
        prove_s = time.monotonic() - started
        size = len(certificate.to_bytes())
        result = check(data, prop, certificate)
        leaves = sum(t.n_leaves for t in certificate.targets)
        line = (f"{label:58} {prove_s:7.2f}s {leaves:7d} {size:8d} {result.time_s:7.3f}s "
                f"{result.time_s / prove_s:6.1%}  {result}")
        if args.verifier:
            line += "  | " + from_verifier(net, prop_path)
        print(line, flush=True)


if __name__ == "__main__":
    main()
