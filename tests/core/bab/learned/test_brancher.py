"""The GNN as FSB's filter (`gnn_candidates` k > 1): the children of the GNN's best k
candidates and of BaBSR's choice (where the GNN's list lacks it) are bounded, and the best
by `split_score` is split."""

import torch

from core.bab.branching import BranchContext, babsr
from core.bab.bounding import relu_layout
from core.bab.learned.brancher import GnnChooser
from core.bab.learned.gnn import BranchGNN
from core.bab.learned.graph import network_graph
from tests.core.bab.learned.nets import fc


def context(graph, bound_children, B: int = 3) -> BranchContext:
    torch.manual_seed(1)
    N = sum(size for _, _, size in relu_layout(graph))
    lower, upper = -torch.rand(B, N).double(), torch.rand(B, N).double()
    lower[:, 0] = 0.5  # neuron 0 is stable: never a candidate
    return BranchContext(lower, upper, torch.zeros(B, N, dtype=torch.int8),
                         [off for _, off, _ in relu_layout(graph)], -torch.rand(B, N).double(),
                         bound_children=bound_children, lb=-torch.ones(B, dtype=torch.float64),
                         box=(-torch.ones(1, graph.input_size, dtype=torch.float64),
                              torch.ones(1, graph.input_size, dtype=torch.float64)))


def test_gnn_filter_bounds_the_gnn_s_top_k_candidates_and_splits_the_best_by_gains():
    network = fc()
    graph = network.graph.to("cpu", torch.float64)
    torch.manual_seed(0)
    model = BranchGNN(dim=16)
    probe = GnnChooser(model, 0.0, graph, torch.eye(3)[:2].double(), net=network_graph(graph), score="gains")
    scores = probe.scores(context(graph, None))
    ranked = torch.where(context(graph, None).candidates(), scores, -float("inf")).argsort(dim=1, descending=True)
    third = ranked[:, 2]
    calls = []

    def children(flat):  # the GNN's third-ranked neuron closes a child; the others raise both a little
        calls.append(flat.clone())
        closes = torch.tensor([0.5, -1.0], dtype=torch.float64)
        raises = torch.tensor([-0.7, -0.7], dtype=torch.float64)
        return torch.where((flat == third)[:, None], closes, raises)

    chooser = GnnChooser(model, 0.0, graph, torch.eye(3)[:2].double(), net=network_graph(graph), score="gains",
                         candidates=3)
    ctx = context(graph, children)
    chosen = chooser(ctx)
    assert [c.tolist() for c in calls[:3]] == [ranked[:, k].tolist() for k in range(3)]
    lacking = ~(ranked[:, :3] == babsr(ctx)[:, None]).any(dim=1)
    assert bool(lacking.any()), "BaBSR's choice should be outside the GNN's top 3 somewhere"
    assert len(calls) == 4 and calls[3][lacking].tolist() == babsr(ctx)[lacking].tolist()
    assert chosen.tolist() == third.tolist()
    assert 0 not in chosen.tolist()
    # by the worse child, raising both children beats closing one: the GNN's first stays
    chooser.score = "worse-child"
    assert chooser(context(graph, children)).tolist() == ranked[:, 0].tolist()


def test_a_poor_gnn_list_loses_to_babsr_s_choice():
    network = fc()
    graph = network.graph.to("cpu", torch.float64)
    torch.manual_seed(0)
    chooser = GnnChooser(BranchGNN(dim=16), 0.0, graph, torch.eye(3)[:2].double(), net=network_graph(graph),
                         score="gains", candidates=2)
    alternative = babsr(context(graph, None))

    def children(flat):  # only BaBSR's choice closes a child
        good = torch.tensor([0.5, -1.0], dtype=torch.float64)
        poor = torch.tensor([-1.0, -1.0], dtype=torch.float64)
        return torch.where((flat == alternative)[:, None], good, poor)

    assert chooser(context(graph, children)).tolist() == alternative.tolist()
    assert chooser.overruled > 0
