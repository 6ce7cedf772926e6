"""`certbound verify` on a terminal shows live progress on stderr, and its last line says
how far the search got: open domains and the best bound, next to the fields parsers read."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys

from typer.testing import CliRunner

from app.cli import cli

FINAL = re.compile(r"^(sat|unsat|timeout|unknown) \S+ \S+ [0-9.]+s domains=(\d+) open=(\d+) bound=(\S+)")


def run_on_a_terminal(args: list[str], timeout: float = 300) -> str:
    """Run `certbound ARGS` with a pseudo-terminal as stdout and stderr; returns what it showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", *args],
                               stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "160"})
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
    finally:
        process.wait(timeout=timeout)
        os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))  # without colours


def test_a_terminal_sees_phases_domains_and_bounds_while_it_runs(benchmarks_dir):
    folder = benchmarks_dir / "acasxu"
    # a search that runs until its budget ends it: an easy one can finish between two
    # refreshes of the line on a fast machine (1_1 prop_2: 434 domains in under a second)
    shown = run_on_a_terminal(["verify", str(folder / "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz"),
                               str(folder / "vnnlib/prop_2.vnnlib.gz"), "--timeout", "5"])
    # the line follows the phases (how many of the short early ones it catches depends on the machine)
    phases = set(re.findall(r"([a-z]+) +domains [\d,]+ +open", shown))
    assert {"bab", "done"} <= phases and len(phases) >= 3, shown
    live = re.findall(r"bab +domains ([\d,]+) +open ([\d,]+) +best bound (-?[0-9.e+-]+)", shown)
    assert live and max(int(d.replace(",", "")) for d, _, _ in live) > 0, shown
    final = [m for line in shown.replace("\r", "\n").splitlines() if (m := FINAL.match(line.strip()))]
    assert final and final[-1].group(1) in ("unsat", "timeout"), shown


def test_the_last_line_keeps_its_fields_and_adds_open_domains_and_the_bound(benchmarks_dir):
    folder = benchmarks_dir / "acasxu"
    # hard (input splitting runs for minutes): the budget always ends it
    net, prop = folder / "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz", folder / "vnnlib/prop_2.vnnlib.gz"
    cut = CliRunner().invoke(cli, ["verify", str(net), str(prop), "--timeout", "6"])
    assert cut.exit_code == 0, cut.output
    lines = cut.output.strip().splitlines()
    assert len(lines) == 1, cut.output  # off a terminal: no progress output
    match = FINAL.match(lines[0])
    assert match and match.group(1) == "timeout", lines[0]
    # stopped early: the search is not over, and its bound says it is not proven
    assert int(match.group(3)) > 0 and float(match.group(4)) <= 0, lines[0]
    done = CliRunner().invoke(cli, ["verify", str(folder.parent / "test/onnx/test_tiny.onnx.gz"),
                                    str(folder.parent / "test/vnnlib/test_tiny.vnnlib.gz")])
    match = FINAL.match(done.stdout.strip())
    assert match and match.group(1) == "unsat" and match.group(3) == "0" and float(match.group(4)) > 0, done.output
    assert done.stderr.startswith("certificate checked in") and done.stderr.rstrip().endswith(": valid"), done.output


def test_ctrl_c_stops_the_search_prints_how_far_it_got_and_exits_130(benchmarks_dir, tmp_path):
    folder = benchmarks_dir / "acasxu"  # hard: input splitting runs for minutes
    out = tmp_path / "result.txt"
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "verify",
                                str(folder / "onnx/ACASXU_run2a_4_2_batch_2000.onnx.gz"),
                                str(folder / "vnnlib/prop_2.vnnlib.gz"), "--timeout", "600", "--out", str(out)],
                               stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "160"})
    os.close(follower)
    shown, sent = b"", False
    try:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
            if not sent and b"bab " in shown:  # the search is on: interrupt it
                process.send_signal(signal.SIGINT)
                sent = True
    finally:
        code = process.wait(timeout=120)
        os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))
    assert sent and code == 130, text
    final = [m for line in text.replace("\r", "\n").splitlines() if (m := FINAL.match(line.strip()))]
    assert final and final[-1].group(1) == "unknown" and final[-1].string.endswith("(cancelled)"), text
    assert not out.exists()
