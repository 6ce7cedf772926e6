"""A fast slice of the shared VNN-COMP benchmarks: every answer must be the known one,
and every `unsat` must carry a certificate the independent checker accepts.

A few ACAS Xu, rl_benchmarks, reach_prob_density, mnist_fc, oval21 (convolutional) and
eran (sigmoid) instances, sat and unsat, with their competition timeouts; together they
take a minute or two on two CPU cores.
"""

import csv

import pytest

from core.config import VerifyConfig
from core.model import load_network
from core.spec import load_property
from core.verifier import verify
from core.verifier.certify import certify

SLICE = [
    ("acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "vnnlib/prop_1.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_2_2_batch_2000.onnx.gz", "vnnlib/prop_4.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_2_batch_2000.onnx.gz", "vnnlib/prop_2.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_7_batch_2000.onnx.gz", "vnnlib/prop_3.vnnlib.gz"),
    ("acasxu", "onnx/ACASXU_run2a_1_9_batch_2000.onnx.gz", "vnnlib/prop_7.vnnlib.gz"),
    ("rl_benchmarks", "onnx/cartpole.onnx.gz", "vnnlib/cartpole_case_safe_45.vnnlib.gz"),
    ("rl_benchmarks", "onnx/dubinsrejoin.onnx.gz", "vnnlib/dubinsrejoin_case_unsafe_5.vnnlib.gz"),
    ("rl_benchmarks", "onnx/lunarlander.onnx.gz", "vnnlib/lunarlander_case_safe_7.vnnlib.gz"),
    ("reach_prob_density", "onnx/robot.onnx.gz", "vnnlib/robot_0.vnnlib.gz"),
    ("reach_prob_density", "onnx/gcas.onnx.gz", "vnnlib/gcas_8.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_0_0.05.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_11_0.05.vnnlib.gz"),
    ("mnist_fc", "onnx/mnist-net_256x4.onnx.gz", "vnnlib/prop_0_0.03.vnnlib.gz"),
    ("oval21", "onnx/cifar_base_kw.onnx.gz", "vnnlib/cifar_base_kw-img1697-eps0.0014379084967320263.vnnlib.gz"),
    ("oval21", "onnx/cifar_deep_kw.onnx.gz", "vnnlib/cifar_deep_kw-img8406-eps0.00392156862745098.vnnlib.gz"),
    ("eran", "onnx/ffnnSIGMOID__Point_6x200.onnx.gz", "vnnlib/mnist_spec_idx_6981_eps_0.01200.vnnlib.gz"),
]


def expected(folder, onnx, vnnlib):
    with open(folder / "expected.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["onnx"] == onnx and r["vnnlib"] == vnnlib)
    return row["expected"], float(row["timeout"])


@pytest.mark.slow
@pytest.mark.parametrize("benchmark,onnx,vnnlib", SLICE, ids=[f"{b}:{o.split('/')[-1]}:{v.split('/')[-1]}"
                                                                for b, o, v in SLICE])
def test_slice_instance_is_answered_correctly_within_its_timeout(benchmarks_dir, benchmark, onnx, vnnlib):
    folder = benchmarks_dir / benchmark
    answer, timeout = expected(folder, onnx, vnnlib)
    assert answer in ("sat", "unsat")
    network, prop = load_network(folder / onnx), load_property(folder / vnnlib)
    result = verify(network, prop, VerifyConfig(timeout_s=timeout, threads=1))
    assert result.verdict.value == answer, result.message
    assert result.elapsed_s <= timeout + 2
    if answer == "unsat":
        assert certify(network, prop, result).check.valid
