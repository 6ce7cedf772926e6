"""The checker's default bound is never looser than the engine's CROWN bound on shared
instances (equal to rounding where the engine proves, sometimes tighter), and never above
sampled outputs: a leaf the verifier's CROWN closes is one the checker accepts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.bounds import Domains, bound
from core.certificate.check import _rows
from core.certificate.leaf import leaf_lower_bounds, network_boxes
from core.certificate.network import chain_of, read_onnx
from core.certificate.tree import Domains as BoxDomains
from core.model import load_network
from core.spec import load_property


@pytest.mark.parametrize("net, prop", [
    ("acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "acasxu/vnnlib/prop_1.vnnlib.gz"),
    ("test/onnx/test_unsat.onnx.gz", "test/vnnlib/test_prop.vnnlib.gz"),
    ("rl_benchmarks/onnx/cartpole.onnx.gz", "rl_benchmarks/vnnlib/cartpole_case_safe_45.vnnlib.gz"),
])
def test_default_leaf_bounds_are_at_least_the_engines_crown(benchmarks_dir, net, prop):
    network, spec = load_network(benchmarks_dir / net), load_property(benchmarks_dir / prop)
    graph = network.graph.to("cpu", torch.float64)
    chain = chain_of(read_onnx(network.onnx_bytes)[1])
    region = spec.regions[0]
    rng = np.random.default_rng(0)
    width = region.box.upper - region.box.lower
    lower = region.box.lower + rng.uniform(0, 0.5, (6, len(width))) * width  # sub-boxes, like B&B leaves
    upper = lower + rng.uniform(0.05, 0.5, lower.shape) * width
    relus = {s.name: chain.sizes[i] for i, s in enumerate(chain.steps) if type(s).__name__ == "Relu"}
    free = {name: np.zeros((len(lower), size), bool) for name, size in relus.items()}
    domains = BoxDomains(lower, upper, free, {k: v.copy() for k, v in free.items()})
    for conjunction in region.unsafe:
        r = len(conjunction.d)
        mine = leaf_lower_bounds(chain, conjunction, network_boxes(chain, _rows(domains, np.arange(len(lower)))),
                                 {"rows": np.broadcast_to(np.eye(r), (len(lower), r, r))})
        theirs = bound(graph, Domains(torch.as_tensor(lower).reshape(-1, *graph.input_shape),
                                      torch.as_tensor(upper).reshape(-1, *graph.input_shape)),
                       torch.as_tensor(conjunction.C)[None], torch.as_tensor(conjunction.d)[None], "crown")
        expected = theirs.lower.amax(dim=1).numpy()
        assert np.all(mine >= expected - 1e-7 * (1 + np.abs(expected))), (mine, expected)
        proven = expected > 0
        assert np.allclose(mine[proven], expected[proven], rtol=1e-7, atol=1e-7)
        x = rng.uniform(lower[:, None, :], upper[:, None, :], (len(lower), 256, len(width)))
        y = graph.forward(torch.as_tensor(x).reshape(-1, *graph.input_shape)).reshape(len(lower), 256, -1).numpy()
        sampled = (y @ conjunction.C.T - conjunction.d).max(axis=2).min(axis=1)
        assert np.all(mine <= sampled)


@pytest.mark.parametrize("net, prop", [
    ("acasxu/onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz", "acasxu/vnnlib/prop_1.vnnlib.gz"),
    # min/max banks with symmetric weights: exact ties in u = -l and bounds at 0 by the hundred
    ("tllverifybench/onnx/tllBench_n=2_N=M=16_m=1_instance_1_2.onnx.gz", "tllverifybench/vnnlib/property_N=16_2.vnnlib.gz"),
])
def test_the_checker_reproduces_input_splittings_intermediate_bounds(benchmarks_dir, net, prop):
    """Down a chain of nested boxes (each child intersecting its parent's bounds), the
    checker's pre-activation bounds are the verifier's up to rounding: CROWN is not monotone
    in them, so anything else can lose a leaf the verifier closed."""
    from core.bab.bounding import InputSplitBounder

    network, spec = load_network(benchmarks_dir / net), load_property(benchmarks_dir / prop)
    graph = network.graph.to("cpu", torch.float64)
    chain = chain_of(read_onnx(network.onnx_bytes)[1])
    relus = [i for i, s in enumerate(chain.steps) if type(s).__name__ == "Relu"]
    conjunction = spec.regions[0].unsafe[0]
    bounder = InputSplitBounder(graph, torch.as_tensor(conjunction.C)[None], torch.as_tensor(conjunction.d)[None])
    lower, upper = spec.regions[0].box.lower.copy(), spec.regions[0].box.upper.copy()
    rows, inherited = None, None
    for depth in range(6):  # halve a different dimension each time
        _, rows = bounder(torch.as_tensor(lower)[None], torch.as_tensor(upper)[None], rows)
        free = {chain.steps[i].name: np.zeros((1, chain.sizes[i]), bool) for i in relus}
        boxes = network_boxes(chain, BoxDomains(lower[None], upper[None], free, {k: v.copy() for k, v in free.items()}),
                              inherited, within=True)  # the verifier's mode, "crown-within"
        inherited = {i: boxes.boxes[i] for i in relus}
        mine_lo = np.concatenate([boxes.boxes[i][0][0] for i in relus])
        mine_hi = np.concatenate([boxes.boxes[i][1][0] for i in relus])
        scale = 1 + np.abs(mine_lo) + np.abs(mine_hi)
        assert np.abs(mine_lo - rows.lower[0].numpy()).max() <= 1e-9 * scale.max(), depth
        assert np.abs(mine_hi - rows.upper[0].numpy()).max() <= 1e-9 * scale.max(), depth
        j = depth % len(lower)
        middle = (lower[j] + upper[j]) / 2
        lower[j] = middle if depth % 2 else lower[j]
        upper[j] = upper[j] if depth % 2 else middle
