"""GradDrop: each coordinate keeps only components of one sign, chosen with probability given by the sign purity."""

import torch

from core.training.multitask.combiners import make


def test_kept_components_share_one_sign_per_coordinate():
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(4, 500, generator=g, dtype=torch.float64)
    drop = make("graddrop", torch.Generator().manual_seed(1))
    mask = drop.mask(grads)
    kept = grads * mask
    assert not ((kept > 0).any(0) & (kept < 0).any(0)).any()
    # everything of the chosen sign is kept: per coordinate, all positives or all negatives survive
    positive_kept = (kept > 0).any(0)
    assert torch.equal(mask[:, positive_kept], (grads > 0)[:, positive_kept])


def test_sign_consistent_coordinates_are_never_dropped():
    grads = torch.tensor([[1.0, -2.0, 0.5], [3.0, -1.0, 0.25]], dtype=torch.float64)
    assert torch.allclose(make("graddrop", torch.Generator().manual_seed(0)).combine(grads), grads.sum(0))


def test_positive_side_is_chosen_with_probability_equal_to_the_purity():
    grads = torch.tensor([[3.0], [-1.0]], dtype=torch.float64)  # purity ½(1 + 2/4) = 0.75
    drop = make("graddrop", torch.Generator().manual_seed(2))
    positive = sum(float(drop.combine(grads)) > 0 for _ in range(4000)) / 4000
    assert abs(positive - 0.75) < 0.03
