import numpy as np
import torch

from core.attack.pgd import margins, pgd
from core.model import load_network
from core.spec import load_property
from core.verifier.targets import stack_padded, targets_of


def test_margin_is_the_worst_row_of_each_disjunct():
    y = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    C = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, -1.0], [1.0, -1.0]]])
    d = torch.tensor([[0.5, 0.0], [2.0, 2.0]])
    assert margins(y, C, d).tolist() == [2.0, -1.0]


def attack(folder, onnx, vnnlib, restarts, seed):
    graph = load_network(folder / onnx).graph
    prop = load_property(folder / vnnlib)
    lower, upper, C, d = stack_padded(targets_of(prop, "cpu", torch.float64))
    result = pgd(graph, lower, upper, C, d, restarts=restarts, steps=30, generator=torch.Generator().manual_seed(seed))
    return graph, prop, lower, upper, result


def test_pgd_finds_the_unsafe_point_of_a_sat_instance_inside_the_box(benchmarks_dir):
    graph, prop, lower, upper, result = attack(benchmarks_dir / "acasxu", "onnx/ACASXU_run2a_1_7_batch_2000.onnx.gz",
                                               "vnnlib/prop_3.vnnlib.gz", 64, 0)
    assert result.x.shape == lower.shape and result.margin.shape == (len(lower),)
    assert bool((result.x >= lower).all() and (result.x <= upper).all())
    assert float(result.margin.min()) <= 0
    k = int(result.margin.argmin())
    y = graph.forward(result.x[k:k + 1]).reshape(-1).numpy()
    conj = prop.regions[0].unsafe[k]
    assert conj.holds(y)
    assert np.isclose(float(result.margin[k]), float((conj.C @ y - conj.d).max()))


def test_pgd_margin_never_beats_the_true_minimum_on_a_safe_instance(benchmarks_dir):
    *_, result = attack(benchmarks_dir / "test", "onnx/test_unsat.onnx.gz", "vnnlib/test_prop.vnnlib.gz", 16, 1)
    assert float(result.margin.min()) > 0
