"""The multi-task datasets: Multi-MNIST and MNIST with one label column per task.

Multi-MNIST is built the usual way (Sabour et al., 2017; Sener & Koltun, 2018): each
image's digit is put in the top-left of a 36×36 canvas and a randomly chosen partner's
digit in the bottom-right, each shifted by up to `SHIFT` pixels, the two overlaid by the
pixel-wise maximum and the canvas resized to 28×28; the labels are the left and the right
digit. The pairing and shifts come from a NumPy generator seeded with the run's seed, so
the same seed and source give the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.training.data import Split, load_dataset

CANVAS, SHIFT = 36, 4


@dataclass(frozen=True)
class TaskSplit:
    """Images [N, 1, 28, 28] in [0, 1] and one int64 label column [N] per name."""

    images: torch.Tensor
    labels: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index: torch.Tensor | slice) -> "TaskSplit":
        return TaskSplit(self.images[index], {k: v[index] for k, v in self.labels.items()})

    def head(self, k: int | None) -> "TaskSplit":
        return self if k is None else self.take(slice(0, k))

    def task(self, label: str) -> Split:
        """The single-task view the certified-training evaluation takes."""
        return Split(self.images, self.labels[label])


def multi_mnist(split: Split, seed: int) -> TaskSplit:
    """Multi-MNIST from an MNIST split: one image per source image, paired with a random partner."""
    rng = np.random.default_rng(seed)
    n = len(split.labels)
    partner = torch.as_tensor(rng.integers(0, n, size=n))
    shifts = rng.integers(0, SHIFT + 1, size=(n, 4))
    far = CANVAS - 28  # the bottom-right digit starts at far - (0..SHIFT)
    top_left = _place(split.images, shifts[:, 0], shifts[:, 1])
    bottom_right = _place(split.images[partner], far - shifts[:, 2], far - shifts[:, 3])
    images = F.interpolate(torch.maximum(top_left, bottom_right), size=(28, 28), mode="bilinear",
                           antialias=True, align_corners=False)
    return TaskSplit(images.clamp(0, 1), {"left": split.labels.clone(), "right": split.labels[partner].clone()})


def _place(images: torch.Tensor, rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
    """[N, 1, CANVAS, CANVAS] zeros with image i's top-left corner at (rows[i], cols[i])."""
    canvas = torch.zeros(len(images), 1, CANVAS, CANVAS)
    for r, c in {(int(r), int(c)) for r, c in zip(rows, cols)}:
        at = torch.as_tensor(np.flatnonzero((rows == r) & (cols == c)))
        canvas[at, :, r:r + 28, c:c + 28] = images[at]
    return canvas


def task_splits(dataset: str, data, seed: int, train_subset: int | None = None,
                test_subset: int | None = None) -> tuple[TaskSplit, TaskSplit]:
    """(train, test) of `dataset` ("multi-mnist" or "mnist") from the first `train_subset` /
    `test_subset` images of the MNIST file `data` (None: the default copy, all images).
    Multi-MNIST pairs images within those, the test pairs with a different seed from training's."""
    source = load_dataset("mnist", data)
    train, test = source.train.head(train_subset), source.test.head(test_subset)
    if dataset == "mnist":
        return TaskSplit(train.images, {"digit": train.labels}), TaskSplit(test.images, {"digit": test.labels})
    return multi_mnist(train, seed), multi_mnist(test, seed + 1)
