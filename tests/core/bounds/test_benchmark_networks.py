"""The shared VNN-COMP networks: bounds contain every sampled and PGD-found output, and
`bound_property` agrees with the expected answers where it refutes."""

import csv

import pytest
import torch

from core.bounds import BoundOptions, bound
from core.bounds.property_bounds import bound_property, region_problems
from core.model import load_network
from core.spec import load_property
from tests.core.bounds.checks import sampled_extremes

CASES = [("mnist_fc", "onnx/mnist-net_256x2.onnx.gz", "vnnlib/prop_1_0.05.vnnlib.gz"),
         ("eran", "onnx/ffnnSIGMOID__Point_6x200.onnx.gz", "vnnlib/mnist_spec_idx_1150_eps_0.01200.vnnlib.gz"),
         ("eran", "onnx/mnist_relu_9_200.onnx.gz", "vnnlib/mnist_spec_idx_225_eps_0.01500.vnnlib.gz")]


@pytest.mark.parametrize("folder, net, prop", CASES)
def test_bounds_contain_sampled_and_attacked_outputs(benchmarks_dir, folder, net, prop):
    graph = load_network(benchmarks_dir / folder / net).graph
    problem = region_problems(load_property(benchmarks_dir / folder / prop), graph)[0]
    # widen the box so the networks' outputs actually move (the properties' epsilons are tiny)
    centre, radius = problem.domains.box.center, problem.domains.box.radius * 3
    domains = type(problem.domains)(centre - radius, centre + radius)
    low, high = sampled_extremes(graph, domains.box, problem.C[0], problem.d[0], n=300, pgd_steps=10)
    for method in ("ibp", "crown", "alpha"):
        result = bound(graph, domains, problem.C, problem.d, method, BoundOptions(upper=True, alpha_iterations=5))
        assert torch.all(result.lower[0] <= low + 1e-7), (method, result.lower[0] - low)
        assert torch.all(result.upper[0] >= high - 1e-7), (method, result.upper[0] - high)


def test_no_refutation_of_a_known_sat_instance(benchmarks_dir):
    folder = benchmarks_dir / "mnist_fc"
    with open(folder / "expected.csv") as f:
        sat = next(row for row in csv.DictReader(f) if row["expected"] == "sat" and "256x2" in row["onnx"])
    graph = load_network(folder / sat["onnx"]).graph
    disjuncts = bound_property(graph, load_property(folder / sat["vnnlib"]), "alpha")
    assert not all(d.refuted for d in disjuncts), "a satisfiable property cannot have every disjunct refuted"
