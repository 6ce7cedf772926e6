"""Datasets from local files: the bundled MNIST subset or a configured full copy, IDX files,
CIFAR-10 binaries, and clear errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from core.data import SHARED_ENV
from core.training.data import DatasetError, load_dataset
from tests.conftest import FULL_MNIST


def test_the_bundled_subset_is_the_default_and_balanced(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    data = load_dataset("mnist")
    assert data.train.images.shape == (5000, 1, 28, 28) and data.test.images.shape == (1000, 1, 28, 28)
    assert float(data.train.images.min()) == 0 and float(data.train.images.max()) == 1
    assert torch.bincount(data.train.labels).tolist() == [500] * 10
    assert torch.bincount(data.test.labels).tolist() == [100] * 10


def test_the_shared_folder_setting_replaces_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_ENV, str(tmp_path))
    with pytest.raises(DatasetError, match=f"{SHARED_ENV} names {tmp_path}"):
        load_dataset("mnist")
    (tmp_path / "datasets").mkdir()
    x, y = np.zeros((3, 28, 28), np.uint8), np.array([1, 2, 3], np.uint8)
    np.savez(tmp_path / "datasets" / "mnist.npz", x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
    assert load_dataset("mnist").train.labels.tolist() == [1, 2, 3]


@pytest.mark.skipif(not FULL_MNIST.is_file(), reason=f"no full MNIST copy at {FULL_MNIST} (set {SHARED_ENV})")
def test_the_full_copy_has_the_standard_split(monkeypatch):
    monkeypatch.setenv(SHARED_ENV, str(FULL_MNIST.parent.parent))
    data = load_dataset("mnist")
    assert data.train.images.shape == (60000, 1, 28, 28) and data.test.images.shape == (10000, 1, 28, 28)
    assert sorted(set(data.test.labels.tolist())) == list(range(10))


def _idx(array: np.ndarray) -> bytes:
    return b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def test_idx_files_plain_or_gzipped_read_the_same_images(mnist, tmp_path):
    x = (mnist.train.images[:7, 0].numpy() * 255).round().astype(np.uint8)
    y = mnist.train.labels[:7].numpy().astype(np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(x))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(y)))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(x[:3])))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(y[:3]))
    data = load_dataset("mnist", tmp_path)
    assert np.array_equal(data.train.images.numpy(), mnist.train.images[:7].numpy())
    assert data.test.labels.tolist() == y[:3].tolist()


def test_cifar_binary_batches_and_channels_last_npz(tmp_path):
    rng = np.random.default_rng(0)
    rows = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        table = rng.integers(0, 256, (4, 3073), dtype=np.uint8)
        table[:, 0] %= 10
        rows[name] = table
        (tmp_path / name).write_bytes(table.tobytes())
    data = load_dataset("cifar10", tmp_path)
    assert data.train.images.shape == (20, 3, 32, 32)
    first = rows["data_batch_1.bin"][0]
    assert data.train.labels[0] == first[0]
    assert np.allclose(data.train.images[0].numpy().reshape(-1), first[1:] / 255.0)
    channels_last = tmp_path / "cifar.npz"
    x = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.savez(channels_last, x_train=x, y_train=np.arange(5), x_test=x[:2], y_test=np.arange(2))
    loaded = load_dataset("cifar10", channels_last)
    assert np.allclose(loaded.train.images[1, 2].numpy(), x[1, :, :, 2] / 255.0)


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing.npz", "no such file"),
    (lambda d: _write(d / "bad.npz", b"not a zip"), "not a readable .npz"),
    (lambda d: _npz(d / "partial.npz", x_train=np.zeros((2, 28, 28))), "missing arrays"),
    (lambda d: _npz(d / "shape.npz", x_train=np.zeros((2, 5)), y_train=np.zeros(2), x_test=np.zeros((1, 5)),
                    y_test=np.zeros(1)), "do not fit mnist images"),
    (lambda d: d, "no train-images-idx3-ubyte"),
])
def test_bad_datasets_get_one_clear_error(tmp_path, setup, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("mnist", setup(tmp_path))


def test_cifar_is_never_downloaded():
    with pytest.raises(DatasetError, match="nothing is downloaded"):
        load_dataset("cifar10")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path
