"""A distributed verify job spreads its root's lemma searches over `lemma-part` sub-jobs
(worker/parallel_lemmas.py): the certificate carries the lemmas one process proves, and a
share no worker takes is searched by the parent itself."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from core.certificate import Certificate, check
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.verifier import verify
from tests.app.parallel import run_parallel_job, sub_jobs
from tests.core.certificate.nets import forward, onnx_bytes, one_row_property, random_layers

# 3 ReLU layers, the second's 32 neurons all unstable on the box: 32 lemma searches, 16 per
# part; 1.0 under the sampled minimum, the search after the lemmas closes it in about a second
LAYERS = random_layers(np.random.default_rng(3), [5, 32, 32, 12, 1])
LOWER, UPPER = -np.ones(5), np.ones(5)
D = float(forward(LAYERS, np.random.default_rng(1).uniform(-1, 1, (200_000, 5))).min()) - 1.0
CONFIG = {"branching": "relu", "threads": 1, "search_before_lemmas": 0, "lemma_domains": 32}


def vnnlib() -> str:
    inputs = "\n".join(f"(declare-const X_{i} Real)" for i in range(5))
    box = "\n".join(f"(assert (>= X_{i} -1.0))\n(assert (<= X_{i} 1.0))" for i in range(5))
    return f"{inputs}\n(declare-const Y_0 Real)\n{box}\n(assert (<= Y_0 {D!r}))\n"


@functools.cache
def lemmas_of_one_process() -> list[tuple]:
    network = load_network(onnx_bytes(LAYERS))
    result = verify(network, one_row_property(LOWER, UPPER, np.ones(1), D),
                    VerifyConfig(timeout_s=60, device="cpu", **CONFIG))
    assert result.verdict is Verdict.UNSAT, result.message
    return [(lemma["neuron"], lemma["side"], lemma["threshold"]) for lemma in result.certificate["lemmas"][0]]


@pytest.mark.parametrize("workers", [1, 0])
def test_lemma_searches_spread_over_sub_jobs_prove_what_one_process_proves(api, api_settings, tmp_path, workers):
    (tmp_path / "net.onnx").write_bytes(onnx_bytes(LAYERS))
    (tmp_path / "prop.vnnlib").write_text(vnnlib())
    model, prop = api.upload_ok("models", tmp_path / "net.onnx"), api.upload_ok("properties", tmp_path / "prop.vnnlib")
    body = {"model_id": model["id"], "property_id": prop["id"], "timeout_s": 60, "config": {**CONFIG, "parallel": 2}}
    job = run_parallel_job(api, api_settings, body, workers=workers)
    assert job["status"] == "succeeded" and job["verdict"] == "unsat", job
    assert job["result"]["check"]["valid"] is True
    shares = [k for k in sub_jobs(api_settings, job["id"]) if k.kind == "lemma-part"]
    assert len(shares) == 1
    if workers:  # searched by the worker: half the neurons
        assert shares[0].status == "succeeded" and shares[0].result["searched"] == 16, shares[0].result
    else:  # never taken by a worker: the parent searched it
        assert shares[0].status == "cancelled" and shares[0].error.startswith("taken over"), shares[0].error
    data = api.get(f"/jobs/{job['id']}/certificate").content
    certificate = Certificate.load(data)
    assert [(lemma.neuron, lemma.side, lemma.threshold) for lemma in certificate.lemmas] == lemmas_of_one_process()
    assert certificate.lemmas and check(onnx_bytes(LAYERS), tmp_path / "prop.vnnlib", data).valid
