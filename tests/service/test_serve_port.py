"""`certbound serve` and its port: a busy one is one line and exit 2 before anything
starts; a free one (even with connections of an earlier server still in TIME_WAIT) is
used, and both printed URLs answer. Real processes and real sockets."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.listen import PortUnavailable, base_url, listen
from tests.conftest import REPO
from tests.service.support import inherited_environment

CERTBOUND = str(Path(sys.executable).parent / "certbound")


def clean_env() -> dict[str, str]:
    return inherited_environment()


def held_port(reuse: bool) -> socket.socket:
    """A socket listening on a free loopback port, as another program's would."""
    sock = socket.socket()
    if reuse:  # as uvicorn sets it: must not let a second server onto the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def time_wait_port() -> int:
    """A port nobody listens on, with a closed connection of its last server (an earlier
    serve: uvicorn sets SO_REUSEADDR, which its connections keep in TIME_WAIT) lingering."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the side that closes first keeps the TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    return port


@pytest.mark.parametrize("reuse", [False, True])
def test_a_busy_port_is_one_line_and_exit_2_before_anything_starts(tmp_path, reuse):
    with held_port(reuse) as holder:
        port = holder.getsockname()[1]
        run = subprocess.run([CERTBOUND, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                             capture_output=True, text=True, cwd=REPO, env=clean_env(), timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == (f"error: port {port} on 127.0.0.1 is in use by another program; "
                          "stop it or pick another port with --port\n")
    assert run.stdout == ""  # no URL that leads nowhere, no owner token
    assert not (tmp_path / "data").exists()


def test_a_port_in_time_wait_is_free():
    port = time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError) as refused:
        plain.bind(("127.0.0.1", port))  # what a check without SO_REUSEADDR would call busy
    assert refused.value.errno == errno.EADDRINUSE
    sockets = listen("127.0.0.1", port)
    try:
        assert [s.getsockname()[1] for s in sockets] == [port]
    finally:
        for sock in sockets:
            sock.close()


def test_serve_on_a_time_wait_port_prints_the_dashboard_and_docs_urls_and_both_answer(tmp_path):
    port = time_wait_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        serve = subprocess.Popen([CERTBOUND, "serve", "--port", str(port), "--no-worker", "--data-dir",
                                  str(tmp_path / "data")], stdout=handle, stderr=subprocess.STDOUT, cwd=REPO,
                                 env=clean_env(), start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert serve.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        assert f"certbound dashboard: {base}/  API docs: {base}/docs" in log.read_text()
        dashboard = httpx.get(f"{base}/")
        assert dashboard.status_code == 303 and dashboard.headers["location"] == "/jobs"
        assert "swagger" in httpx.get(f"{base}/docs").text.lower()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)
            serve.wait(timeout=30)


def test_localhost_gets_one_port_on_every_loopback_address():
    sockets = listen("localhost", 0)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and 0 not in ports
        families = {sock.family for sock in sockets}
        assert socket.AF_INET in families
    finally:
        for sock in sockets:
            sock.close()


def test_an_address_of_another_machine_is_named():
    with pytest.raises(PortUnavailable, match=r"--host '192\.0\.2\.1' is not an address of this machine"):
        listen("192.0.2.1", 0)


@pytest.mark.parametrize("host, expected", [("127.0.0.1", "http://127.0.0.1:80"), ("0.0.0.0", "http://127.0.0.1:80"),
                                            ("::", "http://[::1]:80"), ("::1", "http://[::1]:80"),
                                            ("localhost", "http://localhost:80")])
def test_printed_urls(host, expected):
    assert base_url(host, 80) == expected
