"""The brancher's view of a network: edges that reproduce it, and a GNN score per ReLU."""

import pytest
import torch

from core.bab.branching import BranchContext
from core.bab.bounding import relu_layout
from core.bab.learned.features import Featurizer, HIDDEN_FEATURES
from core.bab.learned.gnn import BranchGNN, propagate
from core.bab.learned.graph import network_graph
from tests.core.bab.learned.nets import NETS


def replay(net, x: torch.Tensor) -> torch.Tensor:
    """The network's output computed from the probed graph alone: bias + edges, ReLU between."""
    values = [x.reshape(len(x), -1).float()]
    for t in range(1, len(net.sizes)):
        pre = net.bias[t - 1].expand(len(x), -1).clone()
        for e in net.into(t):
            pre = pre + propagate(e.weight, values[e.source][:, :, None].transpose(0, 2)).transpose(0, 2)[:, :, 0]
        values.append(pre if t == len(net.sizes) - 1 else torch.relu(pre))
    return values[-1]


@pytest.mark.parametrize("kind", list(NETS))
def test_probed_edges_reproduce_the_network(kind):
    network = NETS[kind]()
    net = network_graph(network.graph)
    x = torch.rand(5, network.graph.input_size) * 2 - 1
    expected = network.graph.to("cpu", torch.float64).forward(x.double()).reshape(5, -1)
    assert torch.allclose(replay(net, x).double(), expected, atol=1e-4)
    if kind == "conv":  # the convolution comes out unrolled and sparse
        assert net.into(1)[0].weight.is_sparse
    if kind == "residual":  # the second ReLU layer reads the first through W1 and through the skip
        skip = net.into(2)[0].weight
        assert skip.shape == (10, 10) and not torch.allclose(skip, torch.zeros_like(skip))


@pytest.mark.parametrize("kind", list(NETS))
def test_gnn_scores_every_relu_of_a_batch_and_learns(kind):
    network = NETS[kind]()
    graph = network.graph.to("cpu", torch.float64)
    N = sum(size for _, _, size in relu_layout(graph))
    lower, upper = -torch.rand(4, N), torch.rand(4, N)
    ctx = BranchContext(lower.double(), upper.double(), torch.zeros(4, N, dtype=torch.int8),
                        [off for _, off, _ in relu_layout(graph)], -torch.rand(4, N).double(),
                        box=(-torch.ones(1, graph.input_size, dtype=torch.float64),
                             torch.ones(1, graph.input_size, dtype=torch.float64)))
    feats = Featurizer(graph, network_graph(graph), torch.eye(3)[:2].double())(ctx)
    assert feats.hidden.shape == (4, N, HIDDEN_FEATURES)
    model = BranchGNN(dim=16)
    scores = model(network_graph(graph), feats)
    assert scores.shape == (4, N) and bool(torch.isfinite(scores).all())
    # gradients reach the first embedding through both message-passing directions
    scores[:, 0].sum().backward()
    assert model.embed_hidden[0].weight.grad.abs().sum() > 0
    assert model.backward_update[0].weight.grad.abs().sum() > 0
