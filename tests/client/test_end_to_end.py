"""The client and its commands against a real `certbound serve` (embedded SQLite database
and broker, one worker), started once for the module: submit, wait, download, check."""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from certbound import CertboundError, Client
from core.commands.check import check_counterexample
from tests.conftest import REPO
from tests.service.support import ServeProcess

# The package's own instances (core/data/benchmarks): decided well under a second, and one
# that no search decides (long enough to be cancelled while running).
NANO = ("mlp/onnx/tiny.onnx.gz", "mlp/vnnlib/tiny_unsat.vnnlib.gz")
SAT = ("mlp/onnx/tiny.onnx.gz", "mlp/vnnlib/tiny_sat.vnnlib.gz")
LONG = ("open/onnx/wide.onnx.gz", "open/vnnlib/wide_open.vnnlib.gz")
LOCK_S = 2.0

pytestmark = pytest.mark.slow  # one `certbound serve` for the module, jobs on its worker


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the module; its database waits 0.5 s for a lock before answering 503."""
    root = tmp_path_factory.mktemp("client-serve")
    serve = ServeProcess(root / "data", root / "serve.log",
                         env={"CERTBOUND_DB_WAIT_S": "0.5", "CERTBOUND_RETRY_AFTER_S": "1"}).start()
    try:
        yield serve
    finally:
        serve.stop()


@pytest.fixture
def client_env(served, tmp_path, monkeypatch) -> dict[str, str]:
    env = {"CERTBOUND_SERVER": f"http://127.0.0.1:{served.port}", "CERTBOUND_TOKEN": served.printed_token(),
           "XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def client(client_env):
    with Client() as client:
        yield client


def run(*args: object):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def paths(bundled_benchmarks: Path, pair: tuple[str, str]) -> tuple[Path, Path]:
    return bundled_benchmarks / pair[0], bundled_benchmarks / pair[1]


def test_submit_wait_download_and_check_an_unsat_from_the_command_line(client_env, bundled_benchmarks, tmp_path):
    net, prop = paths(bundled_benchmarks, NANO)
    submitted = run("submit", net, prop, "--timeout", 30, "--wait")
    assert submitted.exit_code == 0, submitted.output
    job_id, status, verdict = submitted.stdout.split()[:3]
    assert (status, verdict) == ("succeeded", "unsat")
    assert run("status", job_id).stdout.split()[:3] == [job_id, "succeeded", "unsat"]
    downloaded = run("download", job_id, "--out", tmp_path)
    assert downloaded.exit_code == 0, downloaded.output
    certificate = Path(downloaded.stdout.strip())
    assert certificate == tmp_path / f"{job_id}.certificate.zip"
    assert [p.name for p in tmp_path.iterdir()] == [certificate.name]  # no partial file left
    checked = run("check", net, prop, certificate)
    assert checked.exit_code == 0 and checked.stdout.startswith("valid"), checked.output
    refused = run("cancel", job_id)
    assert refused.exit_code == 2 and "already finished" in refused.stderr
    elsewhere = run("status", "../models")  # quoted: an id cannot reach another route
    assert (elsewhere.exit_code, elsewhere.stderr) == (2, "error: ../models: Not Found\n")


def test_a_sat_counterexample_downloads_and_replays(client, bundled_benchmarks, tmp_path):
    net, prop = paths(bundled_benchmarks, SAT)
    job = client.wait(client.submit_files(net, prop, timeout_s=30), timeout_s=120)
    assert (job.status, job.verdict) == ("succeeded", "sat")
    path = client.download(job.id, tmp_path / "witness.txt")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == job.evidence["sha256"]
    valid, line = check_counterexample(net, prop, path)
    assert valid, line


def test_a_repeated_submit_with_one_key_makes_one_job(client, bundled_benchmarks):
    net, prop = paths(bundled_benchmarks, NANO)
    model, prop_id = client.upload_model(net)["id"], client.upload_property(prop)["id"]
    before = sum(1 for _ in client.jobs(page_size=2))  # several pages: the cursor is followed
    first = client.submit(model, prop_id, timeout_s=30, idempotency_key="e2e-once")
    assert client.submit(model, prop_id, timeout_s=30, idempotency_key="e2e-once") == first
    assert sum(1 for _ in client.jobs(page_size=2)) == before + 1
    with pytest.raises(CertboundError) as refused:
        client.submit(model, prop_id, timeout_s=31, idempotency_key="e2e-once")
    assert refused.value.status == 422 and "e2e-once" in refused.value.message


def hold_database_lock(data_dir: Path, seconds: float) -> threading.Thread:
    """Take SQLite's write lock on the server's database for `seconds` (from a thread), so
    every write the API tries meanwhile waits DB_WAIT_S and is answered 503."""
    connection = sqlite3.connect(data_dir / "certbound.db", isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_a_submit_answered_503_is_retried_and_makes_one_job(served, client, bundled_benchmarks):
    net, prop = paths(bundled_benchmarks, NANO)
    retries: list[str] = []
    client.on_retry = retries.append
    model, prop_id = client.upload_model(net)["id"], client.upload_property(prop)["id"]
    before = sum(1 for _ in client.jobs())
    holder = hold_database_lock(served.data_dir, LOCK_S)
    started = time.monotonic()
    job_id = client.submit(model, prop_id, timeout_s=30)
    waited = time.monotonic() - started
    holder.join()
    assert retries and all("503 busy" in line for line in retries), retries
    assert waited >= LOCK_S - 0.5  # it could not have been queued while the lock was held
    assert sum(1 for _ in client.jobs()) == before + 1
    assert client.wait(job_id, timeout_s=120).verdict == "unsat"


def test_submit_gives_up_with_exit_4_while_the_server_stays_busy(served, client_env, bundled_benchmarks):
    net, prop = paths(bundled_benchmarks, NANO)
    holder = hold_database_lock(served.data_dir, 10.0)  # past the retries: 5 tries about 1.5 s apart
    try:
        result = run("submit", net, prop)
    finally:
        holder.join()
    assert result.exit_code == 4, result.output
    assert result.stdout == "" and result.stderr.count("503 busy") == 4
    assert result.stderr.splitlines()[-1].startswith("error: ") and "busy after 5 tries" in result.stderr


def test_wait_times_out_with_exit_3_then_a_cancelled_job_exits_1(client_env, bundled_benchmarks):
    net, prop = paths(bundled_benchmarks, LONG)
    job_id = run("submit", net, prop, "--timeout", 120).stdout.strip()
    waited = run("wait", job_id, "--timeout", 1)
    assert waited.exit_code == 3 and f"job {job_id} is still" in waited.stderr, waited.output
    cancelled = run("cancel", job_id)
    assert cancelled.exit_code == 0 and cancelled.stdout.startswith(job_id), cancelled.output
    final = run("wait", job_id, "--timeout", 60)
    assert final.exit_code == 1 and final.stdout.split()[:2] == [job_id, "cancelled"], final.output
    nothing = run("download", job_id)
    assert nothing.exit_code == 2 and nothing.stderr.startswith("error: "), nothing.output


def test_batch_runs_a_folder_and_writes_the_results_table(client_env, bundled_benchmarks, tmp_path):
    folder = tmp_path / "bench"
    for name in NANO:
        target = folder / Path(name).relative_to("mlp")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundled_benchmarks / name, target)
    (folder / "onnx" / "broken.onnx").write_bytes(gzip.compress(b"not onnx"))
    (folder / "instances.csv").write_text("onnx/tiny.onnx.gz,vnnlib/tiny_unsat.vnnlib.gz,30\n"
                                          "onnx/broken.onnx,vnnlib/tiny_unsat.vnnlib.gz,30\n")
    (folder / "expected.csv").write_text("onnx,vnnlib,timeout,expected\n"
                                         "onnx/tiny.onnx.gz,vnnlib/tiny_unsat.vnnlib.gz,30,unsat\n")
    result = run("batch", folder, "--out", tmp_path / "results.csv")
    assert result.exit_code == 1, result.output  # one instance was refused
    assert "2 instances: 1 correct, 0 wrong, 1 without a verdict" in result.stdout
    with open(tmp_path / "results.csv", newline="") as handle:
        rows = {row["onnx"]: row for row in csv.DictReader(handle)}
    nano, broken = rows["onnx/tiny.onnx.gz"], rows["onnx/broken.onnx"]
    assert (nano["status"], nano["verdict"], nano["correct"]) == ("succeeded", "unsat", "yes")
    assert len(nano["job_id"]) == 32 and float(nano["time_s"]) >= 0
    assert broken["status"] == "refused" and "not a model certbound can read" in broken["error"]
    assert broken["job_id"] == ""


def test_a_batch_from_python_scores_every_instance_of_a_folder(client, bundled_benchmarks):
    seen: list[tuple[str, int, int]] = []
    rows = client.batch(bundled_benchmarks / "mlp",
                        progress=lambda row, done, total: seen.append((row["onnx"], done, total)))
    assert [row["onnx"] for row in rows] == [line.split(",")[0] for line in
                                             (bundled_benchmarks / "mlp" / "instances.csv").read_text().split()]
    assert all((row["status"], row["correct"]) == ("succeeded", "yes") for row in rows), rows
    assert sorted(done for _, done, _ in seen) == [1, 2, 3, 4] and {total for *_, total in seen} == {4}


CLIENT_SCRIPT = """
import sys
from pathlib import Path
from certbound import Client
import certbound.batch, certbound.terminal
net, prop, out = map(Path, sys.argv[1:])
with Client() as client:
    job = client.wait(client.submit_files(net, prop, timeout_s=30), timeout_s=120)
    client.download(job.id, out)
print(job.verdict, out.stat().st_size > 0, "torch" in sys.modules)
"""


def test_the_client_never_imports_torch(client_env, bundled_benchmarks, tmp_path):
    net, prop = paths(bundled_benchmarks, NANO)
    result = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, str(net), str(prop), str(tmp_path / "c.zip")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["unsat", "True", "False"]
