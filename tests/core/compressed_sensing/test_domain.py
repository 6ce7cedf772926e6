"""Whole-domain verification on the tetrahedron problem, whose right answers are known."""

import io
import json
import zipfile

import numpy as np
import pytest

from core.compressed_sensing.bundle import check_bundle, write_bundle
from core.compressed_sensing.compose import composed_onnx
from core.compressed_sensing.domain import verify_domain
from core.counterexample import run_network
from tests.core.compressed_sensing import tetra


def test_the_composed_network_is_the_decoder_after_the_measurement():
    problem = tetra.problem()
    decoder = tetra.linear_decoder(0.8)
    for piece in list(problem.pieces())[:3]:
        t = np.array([1.37])
        x = np.zeros(4)
        x[list(piece.support)] = np.asarray(piece.signs) * t
        composed = run_network(composed_onnx(decoder, problem, piece), t.astype(np.float32))
        direct = run_network(decoder, (problem.A @ x).astype(np.float32))
        np.testing.assert_allclose(composed, direct, atol=1e-6)


@pytest.mark.parametrize("measurement, decoder", [("linear", tetra.linear_decoder(0.8)),
                                                  ("binarized", tetra.sign_decoder(2.0))])
def test_a_correct_decoder_is_proven_on_every_piece_and_the_bundle_checks(measurement, decoder):
    problem = tetra.problem(measurement)
    seen = []
    result = verify_domain(decoder, problem, progress=lambda done, total, o: seen.append((done, total, o.verdict)))
    assert result.verdict == "unsat" and len(result.outcomes) == 8
    assert seen[-1] == (8, 8, "unsat")
    bundle = write_bundle(decoder, problem, result)
    assert check_bundle(decoder, bundle) == ""
    assert "different decoder" in check_bundle(tetra.linear_decoder(0.9), bundle)
    # a bundle missing a piece's proof proves nothing
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest["pieces"] = manifest["pieces"][1:]
    files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    assert "has no proof" in check_bundle(decoder, out.getvalue())


@pytest.mark.parametrize("measurement, decoder", [("linear", tetra.linear_decoder(0.5)),
                                                  ("binarized", tetra.sign_decoder(0.5))])
def test_a_wrong_decoder_gets_a_replayed_counterexample(measurement, decoder):
    problem = tetra.problem(measurement)
    result = verify_domain(decoder, problem)
    assert result.verdict == "sat"
    x = np.asarray(result.counterexamples[0].counterexample)
    scores = run_network(decoder, problem.measure(x[None])[0].astype(np.float32))
    assert np.any((scores > 0) != (x != 0))
    with pytest.raises(ValueError, match="fully proven"):
        write_bundle(decoder, problem, result)


def test_two_workers_give_the_same_verdicts():
    problem = tetra.problem()
    decoder = tetra.linear_decoder(0.8)
    one = verify_domain(decoder, problem, workers=1)
    two = verify_domain(decoder, problem, workers=2)
    assert [o.verdict for o in one.outcomes] == [o.verdict for o in two.outcomes] == ["unsat"] * 8
