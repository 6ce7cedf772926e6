"""What a verify job records: the run's final bound and each disjunct's status, beside
the check of the evidence (worker.kinds.verify.verify_outcome on a real run)."""

from core.config import VerifyConfig
from core.model import load_network
from core.spec import load_property
from core.verifier import verify
from worker.kinds.verify import verify_outcome


def test_an_unsat_job_records_every_disjunct_its_bound_and_the_check(benchmarks_dir):
    folder = benchmarks_dir / "mnist_fc"
    network = load_network(folder / "onnx" / "mnist-net_256x2.onnx.gz")
    prop = load_property(folder / "vnnlib" / "prop_0_0.03.vnnlib.gz")
    outcome = verify_outcome(network, prop, verify(network, prop, VerifyConfig(timeout_s=60, threads=1)))
    assert outcome.verdict == "unsat" and outcome.result["check"]["valid"]
    targets = outcome.result["targets"]
    assert [(t["region"], t["disjunct"]) for t in targets] == [(0, k) for k in range(9)]  # the `or` of 9 classes
    assert all(t["status"] == "unsat" and t["lower_bound"] > 0 and t["closed_by"] for t in targets)
    assert outcome.result["lower_bound"] == min(t["lower_bound"] for t in targets)
