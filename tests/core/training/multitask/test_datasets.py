"""Multi-MNIST: deterministic given a seed, left/right labels, both digits placed where the construction says."""

import torch

from core.data import BUNDLED_MNIST
from core.training.data import Split
from core.training.multitask.datasets import multi_mnist, task_splits


def _digits(n: int = 6) -> Split:
    g = torch.Generator().manual_seed(0)
    return Split(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10)


def test_same_seed_same_images_and_labels_other_seed_other_pairs():
    a, b, c = multi_mnist(_digits(50), 3), multi_mnist(_digits(50), 3), multi_mnist(_digits(50), 4)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels["right"], b.labels["right"])
    assert not torch.equal(a.labels["right"], c.labels["right"])
    assert torch.equal(a.labels["left"], torch.arange(50) % 10)
    assert a.images.shape == (50, 1, 28, 28) and 0 <= float(a.images.min()) and float(a.images.max()) <= 1


def test_left_digit_lands_top_left_and_the_partner_bottom_right():
    blank = torch.zeros(2, 1, 28, 28)
    blank[0] = 1.0  # digit 0 is a full square, digit 1 empty
    pair = multi_mnist(Split(blank, torch.tensor([0, 1])), 0)
    right = pair.labels["right"]
    for i in range(2):
        image = pair.images[i, 0]
        top_left, bottom_right = float(image[:4, :4].mean()), float(image[-4:, -4:].mean())
        assert (top_left > 0.5) == (i == 0)           # its own digit, top-left
        assert (bottom_right > 0.5) == (int(right[i]) == 0)  # the partner's, bottom-right


def test_built_from_the_shipped_subset_with_both_label_columns():
    train, test = task_splits("multi-mnist", BUNDLED_MNIST, seed=0, train_subset=600, test_subset=100)
    assert len(train) == 600 and len(test) == 100 and set(train.labels) == {"left", "right"}
    assert (train.labels["left"] != train.labels["right"]).float().mean() > 0.8
    robust, _ = task_splits("mnist", BUNDLED_MNIST, seed=0, train_subset=10)
    assert set(robust.labels) == {"digit"} and robust.images.shape[1:] == (1, 28, 28)
