import pytest
import torch

from core.bab.bounding import InputSplitBounder, bound_domains, relu_layout
from core.model import load_network
from core.spec import load_property
from core.verifier.targets import targets_of


def test_differentiable_crown_equals_crown_and_lies_below_every_sampled_output(benchmarks_dir):
    folder = benchmarks_dir / "acasxu"
    graph = load_network(folder / "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz").graph
    target = targets_of(load_property(folder / "vnnlib/prop_2.vnnlib.gz"), "cpu", torch.float64)[0]
    gen = torch.Generator().manual_seed(0)
    width = target.upper - target.lower
    for scale in (1.0, 0.1, 0.01):
        lower = target.lower + torch.rand(16, 5, generator=gen, dtype=torch.float64) * width * (1 - scale)
        upper = lower + width * scale
        fast = InputSplitBounder(graph, target.C[None], target.d[None])(lower, upper)[0].detach()
        full = bound_domains(graph, lower, upper, target.C[None], target.d[None], "crown").lb
        assert torch.allclose(fast, full, rtol=1e-9, atol=1e-9)
        points = lower[:, None] + torch.rand(16, 512, 5, generator=gen, dtype=torch.float64) * (upper - lower)[:, None]
        y = graph.forward(points.reshape(-1, 5)).reshape(16, 512, -1)
        sampled = (torch.einsum("rm,bsm->bsr", target.C, y) - target.d).amin(dim=1)
        assert bool((fast <= sampled + 1e-9).all())


def test_children_bounded_within_their_parents_bounds_lie_below_every_sampled_output(benchmarks_dir):
    """A chain of halvings, each child's CROWN passes skipping the neurons its parent's
    bounds prove stable: the bounds on every ReLU input and the output contain samples."""
    folder = benchmarks_dir / "acasxu"
    graph = load_network(folder / "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz").graph
    target = targets_of(load_property(folder / "vnnlib/prop_2.vnnlib.gz"), "cpu", torch.float64)[0]
    bounder = InputSplitBounder(graph, target.C[None], target.d[None])
    gen = torch.Generator().manual_seed(1)
    lower = (target.lower + torch.rand(8, 5, generator=gen, dtype=torch.float64) * (target.upper - target.lower) * 0.5)
    upper = lower + (target.upper - target.lower) * 0.5
    rows = None
    for depth in range(8):
        lb, rows = bounder(lower, upper, rows)
        points = lower[:, None] + torch.rand(8, 256, 5, generator=gen, dtype=torch.float64) * (upper - lower)[:, None]
        y = graph.forward(points.reshape(-1, 5)).reshape(8, 256, -1)
        sampled = (torch.einsum("rm,bsm->bsr", target.C, y) - target.d).amin(dim=1)
        assert bool((lb.detach() <= sampled + 1e-9).all()), depth
        values = graph.forward(points.reshape(-1, 5), keep=True)
        for name, off, size in relu_layout(graph):
            z = values[graph.node(name).inputs[0]].reshape(8, 256, size)
            assert bool((rows.lower[:, None, off:off + size] <= z + 1e-9).all()), (depth, name)
            assert bool((rows.upper[:, None, off:off + size] >= z - 1e-9).all()), (depth, name)
        j = depth % 5
        mid = (lower[:, j] + upper[:, j]) / 2
        lower, upper = lower.clone(), upper.clone()
        if depth % 2:
            lower[:, j] = mid
        else:
            upper[:, j] = mid


class Interrupted(Exception):
    pass


def test_the_interrupt_hook_runs_before_every_refined_layer_and_can_abandon_the_call(benchmarks_dir):
    folder = benchmarks_dir / "acasxu"
    graph = load_network(folder / "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz").graph
    target = targets_of(load_property(folder / "vnnlib/prop_2.vnnlib.gz"), "cpu", torch.float64)[0]
    calls = []
    InputSplitBounder(graph, target.C[None], target.d[None], interrupt=lambda: calls.append(1))(
        target.lower[None], target.upper[None])
    assert len(calls) == 6  # ACAS Xu has six ReLU layers

    def stop_at_the_third_layer():
        calls.append(1)
        if len(calls) == 9:
            raise Interrupted

    with pytest.raises(Interrupted):
        InputSplitBounder(graph, target.C[None], target.d[None], interrupt=stop_at_the_third_layer)(
            target.lower[None], target.upper[None])
