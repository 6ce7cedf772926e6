"""The certificate file: round trip, size, versioning, digests, and a torch-free checker."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from core.certificate import Certificate, check, property_digest
from core.certificate.format import VERSION
from tests.core.certificate.nets import one_row_property


def test_round_trip_keeps_every_array(relu_split, tmp_path):
    _, _, certificate = relu_split
    size = certificate.save(tmp_path / "proof.cert")
    assert size == (tmp_path / "proof.cert").stat().st_size
    loaded = Certificate.load(tmp_path / "proof.cert")
    assert (loaded.network_sha256, loaded.property_sha256, loaded.relu_layers) == \
        (certificate.network_sha256, certificate.property_sha256, certificate.relu_layers)
    for before, after in zip(certificate.targets, loaded.targets):
        for name, array in before.arrays().items():
            np.testing.assert_array_equal(array, after.arrays()[name])
            assert array.dtype == after.arrays()[name].dtype


def test_unreadable_files_say_what_they_are_not(tmp_path, relu_split):
    with pytest.raises(ValueError, match="not a certbound certificate"):
        Certificate.load(b"PK\x03\x04 definitely not a zip")
    data = relu_split[2].to_bytes()
    path = tmp_path / "old.cert"
    with zipfile.ZipFile(path, "w") as archive:
        with zipfile.ZipFile(io.BytesIO(data)) as original:
            manifest = original.read("manifest.json").replace(f'"version": {VERSION}'.encode(), b'"version": 99')
            archive.writestr("manifest.json", manifest)
            archive.writestr("tensors.npz", original.read("tensors.npz"))
    with pytest.raises(ValueError, match="version 99"):
        Certificate.load(path)


def test_version_1_files_are_still_read_and_checked(input_split):
    """Version 1 derived intermediate bounds by CROWN on every neuron; its files keep that meaning."""
    data, prop, certificate = input_split
    old = copy.deepcopy(certificate)
    old.version = 1
    loaded = Certificate.load(old.to_bytes())
    assert loaded.version == 1 and loaded.targets[0].intermediate == "crown"
    assert check(data, prop, loaded).valid


def test_property_digest_follows_meaning_not_identity():
    a = one_row_property([-1, -1], [1, 1], [1.0, 2.0], 0.5)
    b = one_row_property([-1, -1], [1, 1], [1.0, 2.0], 0.5)
    assert property_digest(a) == property_digest(b)
    for other in (one_row_property([-1, -1], [1, 1.5], [1.0, 2.0], 0.5),
                  one_row_property([-1, -1], [1, 1], [1.0, 2.0], 0.25),
                  one_row_property([-1, -1], [1, 1], [2.0, 1.0], 0.5)):
        assert property_digest(other) != property_digest(a)


def test_tree_arrays_are_small_integers(input_split):
    certificate = copy.deepcopy(input_split[2])
    target = certificate.targets[0]
    assert target.parent.dtype == np.int32 and target.side.dtype == np.int8 and target.split_kind.dtype == np.int8
    per_leaf = len(certificate.to_bytes()) / target.n_leaves
    assert per_leaf < 64, per_leaf


def test_the_checker_imports_neither_torch_nor_the_engine():
    code = ("import sys, core.certificate, core.commands.check; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('core.bounds', 'core.model', 'core.bab'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
