"""MNIST robustness properties for learned branching: training properties from the
training images, held-out ones from the test images, never the same image twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data import mnist_path
from core.spec import load_property
from core.spec.robustness import robustness_vnnlib


def mnist_images(split: str, path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images [k, 784] in [0, 1] and labels [k] of the `split` ("train" or "test") of MNIST."""
    with np.load(Path(path) if path is not None else mnist_path(), allow_pickle=False) as data:
        images, labels = data[f"x_{split}"], data[f"y_{split}"].reshape(-1)
    images = images.reshape(len(images), -1).astype(np.float64)
    return (images / 255.0 if images.max() > 1 else images), labels.astype(int)


def robustness_properties(network, split: str, eps: float, count: int, start: int = 0,
                          path: Path | None = None) -> list[tuple[str, object]]:
    """Up to `count` (name, Property) pairs at radius `eps` around the images of `split`
    from index `start` on that `network` classifies correctly."""
    import torch

    images, labels = mnist_images(split, path)
    graph = network.graph.to("cpu", torch.float64)
    out = []
    for i in range(start, len(images)):
        if len(out) >= count:
            break
        with torch.no_grad():
            predicted = int(graph.forward(torch.as_tensor(images[i])[None]).flatten().argmax())
        if predicted != labels[i]:
            continue
        text = robustness_vnnlib(images[i], eps, int(labels[i]))
        out.append((f"{split}_{i}_{eps:g}", load_property(text.encode())))
    return out
