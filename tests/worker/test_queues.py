"""Which queues a worker consumes: gpu only where torch sees a CUDA device. On a machine
without one (CI) the workers here truthfully have none; the worker's choice for a
machine with one is checked on the function that makes it."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.conftest import REPO
from tests.service.support import ServeProcess, instance
from worker.queues import QueueChoiceError, cuda_problem, parse_queues, worker_queues

torch = pytest.importorskip("torch")
HAS_CUDA = torch.cuda.is_available()
DEFAULT = ["gpu", "cpu"] if HAS_CUDA else ["cpu"]


def worker_command(*args: str, data_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worker", *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_cuda_problem_tells_the_truth_about_this_machine():
    problem = cuda_problem()
    assert (problem == "") == HAS_CUDA
    if torch.version.cuda is None:
        assert problem == f"this torch ({torch.__version__}) is built without CUDA"


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a CUDA device: the refusal cannot happen here")
@pytest.mark.parametrize("args, words", [
    (("--gpu", "0"), "error: --gpu 0: "),
    (("--queues", "gpu"), "error: --queues: queue 'gpu' takes device 'cuda' jobs, but "),
    (("--queues", "cpu,gpu"), "error: --queues: queue 'gpu' takes device 'cuda' jobs, but "),
])
def test_a_worker_without_cuda_refuses_the_gpu_in_one_line_and_starts_nothing(tmp_path, args, words):
    data_dir = tmp_path / "data"
    result = worker_command(*args, data_dir=data_dir)
    assert result.returncode == 2
    assert result.stderr.startswith(words) and result.stderr.count("\n") == 1, result.stderr
    assert cuda_problem() in result.stderr
    assert not data_dir.exists()


def test_queue_names_are_checked_and_deduplicated():
    assert parse_queues(None) is None
    assert parse_queues(" cpu, gpu ,cpu") == ["cpu", "gpu"]
    for text, words in (("cpu,fast", "unknown queue(s) fast"), (",", "none given")):
        with pytest.raises(QueueChoiceError, match=words.replace("(", r"\(").replace(")", r"\)")):
            parse_queues(text)


def test_where_cuda_is_usable_the_default_adds_gpu_and_explicit_queues_are_kept():
    assert worker_queues(None, None, "") == ["gpu", "cpu"]
    assert worker_queues(None, 3, "") == ["gpu", "cpu"]
    assert worker_queues(["gpu"], 0, "") == ["gpu"]
    assert worker_queues(["cpu"], 0, "") == ["cpu"]


def test_without_cuda_the_default_is_cpu_alone():
    assert worker_queues(None, None, "no CUDA device is visible") == ["cpu"]
    assert worker_queues(["cpu"], None, "no CUDA device is visible") == ["cpu"]
    with pytest.raises(QueueChoiceError, match="--gpu 1: no CUDA device is visible"):
        worker_queues(["cpu"], 1, "no CUDA device is visible")


@pytest.mark.slow
def test_the_embedded_worker_of_serve_lists_gpu_only_with_cuda(tmp_path):
    serve = ServeProcess(tmp_path / "data", tmp_path / "serve.log").start()
    try:
        workers = httpx.get(f"{serve.base}/healthz", timeout=5).json()["workers"]
    finally:
        serve.stop()
    assert [worker["queues"] for worker in workers] == [DEFAULT]


def test_a_worker_started_with_defaults_lists_what_it_can_serve(wapi):
    workers = wapi.get("/healthz").json()["workers"]
    assert workers and all(worker["queues"] == DEFAULT for worker in workers)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a CUDA device: device cuda would be accepted here")
def test_on_a_machine_without_cuda_auto_runs_on_cpu_and_cuda_is_refused(wapi, bundled_benchmarks):
    model, prop = (wapi.upload_ok(kind, path) for kind, path in
                   zip(("models", "properties"), instance(bundled_benchmarks, "mlp", "relu5", "relu5_unsat")))
    response = wapi.post("/jobs", json={"model_id": model["id"], "property_id": prop["id"], "config": {"device": "cuda"}})
    assert response.status_code == 422 and "no live worker has a GPU" in response.json()["detail"]
    job = wapi.wait(wapi.submit(model, prop, timeout_s=60))
    assert (job["queue"], job["status"], job["verdict"]) == ("cpu", "succeeded", "unsat"), job
