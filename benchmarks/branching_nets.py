"""Small MNIST networks for the learned-branching benchmark (benchmarks/branching_bench.py):
plainly trained (not certified), so many ReLUs stay unstable and properties need branching.

    CERTBOUND_SHARED_DIR=../shared PYTHONPATH=. .venv/bin/python benchmarks/branching_nets.py --out OUT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from core.bab.learned.properties import mnist_images
from core.training.export import export_onnx

ARCHS = {
    "fc2x64": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                    nn.Linear(64, 10)),
    "fc4x48": lambda: nn.Sequential(nn.Flatten(), *[m for k in range(4) for m in (nn.Linear(784 if k == 0 else 48, 48),
                                                                               nn.ReLU())], nn.Linear(48, 10)),
    "conv": lambda: nn.Sequential(nn.Conv2d(1, 8, 4, stride=3), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(8 * 9 * 9, 48), nn.ReLU(), nn.Linear(48, 10)),
    "fc3x128": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                                     nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)),
}


def train(arch: str, epochs: int = 2, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    images, labels = mnist_images("train")
    x, y = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels)
    model = ARCHS[arch]()
    if arch == "conv":
        x = x.reshape(-1, 1, 28, 28)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 128):
            index = order[start:start + 128]
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--archs", nargs="*", default=list(ARCHS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    test, labels = mnist_images("test")
    for arch in args.archs:
        model = train(arch)
        shape = (1, 28, 28) if arch == "conv" else (784,)
        inputs = torch.as_tensor(test, dtype=torch.float32).reshape(-1, *shape)
        with torch.no_grad():
            accuracy = float((model(inputs).argmax(1) == torch.as_tensor(labels)).float().mean())
        data = export_onnx(model, shape, inputs[:8])
        (args.out / f"{arch}.onnx").write_bytes(data)
        print(f"{arch}: test accuracy {accuracy:.3f}, {len(data)} bytes")


if __name__ == "__main__":
    main()
