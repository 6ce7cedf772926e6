"""Datasets from local files only: MNIST (.npz or IDX) and CIFAR-10 (.npz or binary batches).

Images come back as float32 tensors [N, C, H, W] in [0, 1] (the unit of ε), labels as
int64 [N]. Nothing is ever downloaded: without a path, MNIST is the full copy
`$CERTBOUND_SHARED_DIR/datasets/mnist.npz` where that setting is given, else the
6,000-image subset shipped in the package (`core.data`).
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.data import SHARED_ENV, mnist_path, shared_dir

SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
_IDX = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_CIFAR_BIN = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}


class DatasetError(ValueError):
    """The dataset the user named cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor
    labels: torch.Tensor

    def head(self, k: int | None) -> "Split":
        return self if k is None else Split(self.images[:k], self.labels[:k])


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split
    classes: int = 10

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.images.shape[1:])


def load_dataset(name: str, path: Path | None = None) -> Dataset:
    """The train and test splits of `name` ("mnist" or "cifar10") from `path` (a .npz
    file or a folder of IDX / CIFAR-10 binary files). Repeated loads of an unchanged file
    share one copy (a worker runs many jobs on the same data); callers must not modify it."""
    if name not in SHAPES:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(SHAPES)}")
    if path is None:
        if name != "mnist":
            raise DatasetError(f"{name}: give the path of your own copy (--data); nothing is downloaded")
        path = mnist_path()
        if shared_dir() is not None and not path.exists():
            raise DatasetError(f"{path}: no such file ({SHARED_ENV} names {shared_dir()}, which should hold "
                               "datasets/mnist.npz)")
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    return _read(name, path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read(name: str, path: Path, mtime_ns: int) -> Dataset:
    if path.is_file():
        arrays = _npz(path)
    elif name == "mnist":
        arrays = {f"{k}_{s}": v for s, files in _IDX.items() for k, v in zip(("x", "y"), _idx_pair(path, *files))}
    else:
        arrays = {f"{k}_{s}": v for s, files in _CIFAR_BIN.items() for k, v in zip(("x", "y"), _cifar_bin(path, files))}
    return Dataset(_split(arrays, "train", name, path), _split(arrays, "test", name, path))


def _npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable .npz file ({exc})") from None


def _split(arrays: dict[str, np.ndarray], split: str, name: str, path: Path) -> Split:
    missing = [k for k in (f"x_{split}", f"y_{split}") if k not in arrays]
    if missing:
        raise DatasetError(f"{path}: missing arrays {missing} (expected x_train, y_train, x_test, y_test)")
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"].reshape(-1)
    c, h, w = SHAPES[name]
    if x.ndim == 4 and x.shape[1:] == (h, w, c):
        x = x.transpose(0, 3, 1, 2)  # channels last, as Keras and the CIFAR .npz copies store it
    if x.shape[0] != y.shape[0] or x.reshape(x.shape[0], -1).shape[1] != c * h * w:
        raise DatasetError(f"{path}: x_{split} {list(x.shape)} / y_{split} {list(y.shape)} do not fit "
                           f"{name} images of shape {[c, h, w]}")
    images = torch.from_numpy(np.array(x.reshape(-1, c, h, w), dtype=np.float32))
    if x.dtype == np.uint8 or images.max() > 1:
        images = images / 255.0
    labels = torch.as_tensor(y.astype(np.int64))
    if labels.numel() and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{path}: y_{split} has labels outside 0..9")
    return Split(images, labels)


def _open(folder: Path, stem: str):
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return gzip.open(candidate) if candidate.suffix == ".gz" else open(candidate, "rb")
    raise DatasetError(f"{folder}: no {stem} (or {stem}.gz)")


def _idx_pair(folder: Path, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    return _idx(folder, images, 3), _idx(folder, labels, 1)


def _idx(folder: Path, stem: str, rank: int) -> np.ndarray:
    with _open(folder, stem) as f:
        data = f.read()
    if len(data) < 4 + 4 * rank or data[:3] != b"\0\0\x08" or data[3] != rank:
        raise DatasetError(f"{folder / stem}: not an IDX file of unsigned bytes with {rank} dimension(s)")
    dims = np.frombuffer(data, dtype=">u4", count=rank, offset=4).astype(int)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise DatasetError(f"{folder / stem}: header says {list(dims)} but holds {body.size} bytes")
    return body.reshape(dims)


def _cifar_bin(folder: Path, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows = []
    for stem in files:
        with _open(folder, stem) as f:
            data = np.frombuffer(f.read(), dtype=np.uint8)
        if data.size % 3073:
            raise DatasetError(f"{folder / stem}: not a CIFAR-10 binary batch (rows of 1 + 3072 bytes)")
        rows.append(data.reshape(-1, 3073))
    table = np.concatenate(rows)
    return table[:, 1:].reshape(-1, 3, 32, 32), table[:, 0]
