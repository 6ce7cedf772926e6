"""The whole-domain proof as one file, and its independent check.

A zip: `manifest.json` (the problem: A, k, magnitude range, measurement kind; the
decoder's sha256; one entry per piece) and one proof per piece, `pieces/<index>.zip` (a
certbound certificate of the composed network, linear pieces) or `pieces/<index>.json`
(the sign patterns and their refutations, binarized pieces). `check_bundle` trusts none of
it but the numbers: it rebuilds each piece's network and property from the manifest's
problem and the decoder, runs `core.certificate.check` on linear pieces, re-checks the
refutations and the tree's completeness and re-evaluates the decoder at every pattern on
binarized ones, and requires every piece of the problem to be there.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np

from core.compressed_sensing.arrangement import Patterns, check_patterns
from core.compressed_sensing.compose import composed_onnx, piece_property
from core.compressed_sensing.domain import DomainResult
from core.compressed_sensing.pieces import SCORE_MARGIN, pattern_scores
from core.compressed_sensing.problem import Problem

FORMAT = "certbound-compressed-sensing/1"


def _problem_dict(problem: Problem) -> dict:
    return {"A": problem.A.tolist(), "k": problem.k, "low": problem.low, "high": problem.high,
            "binarized": problem.binarized, "nonnegative": problem.nonnegative}


def write_bundle(decoder: bytes, problem: Problem, result: DomainResult) -> bytes:
    """The zip of an all-unsat domain result's proofs; ValueError for any other result."""
    if result.verdict != "unsat" or len(result.outcomes) != result.pieces:
        raise ValueError(f"only a fully proven domain has a proof bundle (verdict {result.verdict})")
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, outcome in enumerate(result.outcomes):
            name = f"pieces/{i}.{'json' if problem.binarized else 'zip'}"
            archive.writestr(name, outcome.proof)
            entries.append({"piece": outcome.label, "file": name})
        manifest = {"format": FORMAT, "decoder_sha256": hashlib.sha256(decoder).hexdigest(),
                    "problem": _problem_dict(problem), "pieces": entries}
        archive.writestr("manifest.json", json.dumps(manifest))
    return buffer.getvalue()


def read_problem(data: bytes) -> Problem:
    """The problem a bundle states."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        spec = json.loads(archive.read("manifest.json"))["problem"]
    return Problem(np.asarray(spec["A"], dtype=np.float64), int(spec["k"]), float(spec["low"]),
                   float(spec["high"]), bool(spec["binarized"]), bool(spec["nonnegative"]))


def check_bundle(decoder: bytes, data: bytes, time_limit_s: float | None = None) -> str:
    """"" when the bundle proves the decoder correct on its problem's whole domain; else why not."""
    from core.certificate import check

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read("manifest.json"))
        problem = read_problem(data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        return f"not a compressed-sensing proof bundle: {exc}"
    if manifest.get("format") != FORMAT:
        return f"unknown bundle format {manifest.get('format')!r}"
    if manifest["decoder_sha256"] != hashlib.sha256(decoder).hexdigest():
        return "the bundle proves a different decoder (sha256 differs)"
    files = {entry["piece"]: entry["file"] for entry in manifest["pieces"]}
    for piece in problem.pieces():
        if piece.label not in files:
            return f"piece {piece.label} has no proof"
        proof = archive.read(files[piece.label])
        if problem.binarized:
            why = _check_patterns(decoder, problem, piece, proof)
        else:
            result = check(composed_onnx(decoder, problem, piece), piece_property(problem, piece), proof,
                           time_limit_s)
            why = "" if result.valid else result.reason
        if why:
            return f"piece {piece.label}: {why}"
    return ""


def _check_patterns(decoder: bytes, problem: Problem, piece, proof: bytes) -> str:
    patterns = Patterns.from_dict(json.loads(proof)["patterns"])
    why = check_patterns(problem.piece_matrix(piece), problem.low, problem.high, patterns)
    if why or not patterns.reached:
        return why or "no pattern is reached"
    scores = pattern_scores(decoder, np.asarray(list(patterns.reached), dtype=np.float64))
    sigma = np.where(np.isin(np.arange(problem.n), piece.support), 1.0, -1.0)
    worst = float((scores * sigma).min())
    return "" if worst > SCORE_MARGIN else f"a reached pattern is decoded with margin {worst:.3g}"
