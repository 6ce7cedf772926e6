import torch

from core.bab.branching import BranchContext, babsr, fsb, upb


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


def test_fsb_keeps_the_candidate_whose_worse_child_is_best():
    calls = []

    def children(flat):
        calls.append(flat.tolist())
        value = torch.where(flat == 0, 5.0, torch.where(flat == 1, 1.0, 0.0))
        return torch.stack([value, value + 1], dim=1)

    chosen = fsb(context(None, children), per_layer=2)
    assert calls, "FSB must bound the children of its candidates"
    assert chosen.tolist() == [0, 3]
