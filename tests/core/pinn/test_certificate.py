"""PINN certificates: the checker re-derives every piece with outward rounding and accepts an
honest certificate; a tampered one (a piece's bound lowered, a piece removed, another
network, a claimed maximum below a piece) is rejected."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pinn import check as checker
from core.pinn.certificate import build_certificate
from core.pinn.certify import certify_pinn
from core.pinn.derivatives import autograd_derivatives
from core.pinn.network import load_mlp
from core.pinn.options import PinnOptions
from tests.core.pinn.nets import points_in
from tests.core.pinn.onnx_files import tiny_pinn


@pytest.fixture(scope="module")
def burgers(tmp_path_factory):
    data = tiny_pinn(tmp_path_factory.mktemp("pinn") / "b.onnx").read_bytes()
    result = certify_pinn(load_mlp(data), PinnOptions(budget_s=3, grid=41, target_ratio=1.05, max_pieces=40))
    return data, result, build_certificate(data, result)


def _rewrite(cert: bytes, condition: str, change) -> bytes:
    """The certificate with `change(arrays, manifest)` applied to one condition's arrays."""
    src = zipfile.ZipFile(io.BytesIO(cert))
    manifest = json.loads(src.read("pinn.json"))
    with np.load(io.BytesIO(src.read(f"{condition}.npz"))) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    change(arrays, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name == f"{condition}.npz":
                buf = io.BytesIO()
                np.savez(buf, **arrays)
                dst.writestr(name, buf.getvalue())
            elif name == "pinn.json":
                dst.writestr(name, json.dumps(manifest))
            else:
                dst.writestr(name, src.read(name))
    return out.getvalue()


def test_an_honest_certificate_checks(burgers):
    data, result, cert = burgers
    outcome = checker.check_pinn(data, cert)
    assert outcome.valid, outcome.reason
    assert outcome.verdict is None  # no tolerance was asked
    for c in result.conditions:
        assert c.certified_max <= outcome.certified[c.name] <= c.certified_max * (1 + 1e-6)
    assert len(result.conditions[0].paths) > 1  # the residual was split: the tree is exercised
    loose = certify_pinn(load_mlp(data), PinnOptions(budget_s=1, grid=21, tolerance=50.0))
    assert checker.check_pinn(data, build_certificate(data, loose)).verdict == "holds"


def test_a_lowered_piece_bound_is_rejected(burgers):
    data, result, cert = burgers
    worst = int(result.conditions[0].bounds.argmax())

    def lower_one(a, _):
        a["hi"][worst] *= 0.9
        a["lo"][worst] *= 0.9

    outcome = checker.check_pinn(data, _rewrite(cert, "residual", lower_one))
    assert not outcome.valid and f"piece {worst} re-derives" in outcome.reason


def test_a_removed_piece_is_rejected(burgers):
    data, _, cert = burgers

    def drop_last(a, _):
        a["codes"], a["ends"] = a["codes"][:a["ends"][-2]], a["ends"][:-1]
        a["lo"], a["hi"] = a["lo"][:-1], a["hi"][:-1]

    outcome = checker.check_pinn(data, _rewrite(cert, "residual", drop_last))
    assert not outcome.valid and "halves" in outcome.reason


def test_a_claimed_maximum_below_a_piece_and_another_network_are_rejected(burgers, tmp_path):
    data, result, cert = burgers

    def claim_less(_, manifest):
        manifest["conditions"][0]["certified_max"] *= 0.5

    assert "exceeds the claimed maximum" in checker.check_pinn(data, _rewrite(cert, "residual", claim_less)).reason
    other = tiny_pinn(tmp_path / "other.onnx", seed=1).read_bytes()
    assert "another network" in checker.check_pinn(other, cert).reason
    assert not checker.check_pinn(data, b"not a zip").valid


def test_leaves_tile_the_domain():
    domain = np.array([[0.0, 1.0], [-1.0, 1.0]])
    paths = [b"\x00", b"\x01\x02", b"\x01\x03"]
    codes = np.frombuffer(b"".join(paths), dtype=np.uint8)
    lower, upper = checker.leaves(domain, codes, np.cumsum([len(p) for p in paths]))
    assert lower.tolist() == [[0.0, -1.0], [0.5, -1.0], [0.5, 0.0]]
    assert upper.tolist() == [[0.5, 1.0], [1.0, 0.0], [1.0, 1.0]]
    with pytest.raises(ValueError):  # a leaf that is also split
        checker.leaves(domain, np.frombuffer(b"\x00\x00\x02\x01", dtype=np.uint8), np.array([1, 3, 4]))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), width=st.floats(1e-3, 1.0))
def test_the_checkers_own_enclosures_contain_autograd_values(tmp_path_factory, seed, width):
    from core.certificate.network import chain_of, read_onnx

    path = tiny_pinn(tmp_path_factory.mktemp("net") / "n.onnx", seed=seed)
    steps = checker._steps(chain_of(read_onnx(path.read_bytes())[1]))
    rng = np.random.default_rng(seed)
    lower = rng.uniform(-1, 0, size=(3, 2))
    upper = lower + width
    u, grad, hess, _, _ = checker.derivatives(steps, lower, upper, ((1, 1),))
    pts = points_in(lower, upper, 16, seed)
    vu, vg, vh = autograd_derivatives(load_mlp(path), pts.reshape(-1, 2), ((1, 1),))
    for box, values in ((u, vu), (grad[0], vg[0]), (grad[1], vg[1]), (hess[(1, 1)], vh[(1, 1)])):
        values = values.reshape(3, 16, -1)
        assert (values >= box.lo[:, None]).all() and (values <= box.hi[:, None]).all()
