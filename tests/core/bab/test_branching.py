
import pytest
import torch

from core.bab.branching import BranchContext, babsr, fsb, split_score, split_score_of, upb
from core.config import VerifyConfig


def context(coefficient=None, bound_children=None):
    lower = torch.tensor([[-1.0, -4.0, 1.0, -2.0], [2.0, 1.0, -3.0, -1.0]])
    upper = torch.tensor([[1.0, 1.0, 2.0, 2.0], [3.0, 2.0, -1.0, 4.0]])
    split = torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.int8)
    return BranchContext(lower, upper, split, [0, 2], coefficient, bound_children)


def test_upb_picks_the_loosest_unsplit_unstable_neuron_and_minus_one_when_none():
    ctx = context()
    # intercepts -u l / (u - l): 0.5, 0.8, stable, split  |  row 2: only neuron 3 is unstable
    assert upb(ctx).tolist() == [1, 3]
    ctx.split[1, 3] = -1
    assert upb(ctx).tolist() == [1, -1]


def test_babsr_weighs_the_intercept_by_the_bound_s_reliance_on_the_upper_line():
    coefficient = torch.tensor([[-4.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0]])
    assert babsr(context(coefficient)).tolist() == [0, 3]
    assert babsr(context(None)).tolist() == upb(context()).tolist()


def test_fsb_without_the_domain_s_bound_keeps_the_candidate_whose_worse_child_is_best():
    calls = []

    def children(flat):
        calls.append(flat.tolist())
        value = torch.where(flat == 0, 5.0, torch.where(flat == 1, 1.0, 0.0))
        return torch.stack([value, value + 1], dim=1)

    chosen = fsb(context(None, children), per_layer=2)
    assert calls, "FSB must bound the children of its candidates"
    assert chosen.tolist() == [0, 3]


def test_split_score_caps_each_child_at_closing_and_sums_the_gains():
    lb = torch.tensor([-1.0, -1.0, -1.0])
    children = torch.tensor([[0.5, -1.0],    # one child closes, the other gains nothing
                             [40.0, -1.0],   # the same: a child that closes counts as closing
                             [-0.6, -0.6]])  # both children gain 0.4
    assert split_score(children, lb, "gains").tolist() == pytest.approx([1.0, 1.0, 0.8])
    assert split_score(children, lb, "worse-child").tolist() == pytest.approx([-1.0, -1.0, -0.6])
    assert split_score(children, None, "gains").tolist() == pytest.approx([-1.0, -1.0, -0.6])


def test_fsb_by_gains_prefers_closing_a_child_to_raising_both_a_little():
    lb = torch.tensor([-1.0, -1.0])

    def children(flat):  # neuron 0 closes its inactive child; neuron 1 raises both children a little
        closes = torch.stack([torch.full_like(lb, 0.5), lb], dim=1)
        raises = torch.stack([lb + 0.3, lb + 0.3], dim=1)
        return torch.where((flat == 0)[:, None], closes, raises)

    ctx = context(None, children)
    ctx.lb = lb
    assert fsb(ctx, per_layer=2, score="gains")[0].item() == 0
    assert fsb(ctx, per_layer=2, score="worse-child")[0].item() == 1


def test_auto_split_score_is_gains_for_the_gnn_rule_and_the_worse_child_for_fsb():
    """The defaults are each rule's best measured (docs/results/branching.md): the GNN as FSB's
    filter over its best 3, ranked by gains; FSB by the worse child. A choice given is kept."""
    gnn = VerifyConfig(relu_heuristic="gnn", brancher="model.brancher")
    assert (gnn.gnn_candidates, split_score_of(gnn)) == (3, "gains")
    assert split_score_of(VerifyConfig()) == "worse-child"
    assert split_score_of(gnn.model_copy(update={"split_score": "worse-child"})) == "worse-child"
    assert split_score_of(VerifyConfig(split_score="gains")) == "gains"
