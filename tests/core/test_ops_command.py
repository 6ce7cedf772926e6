"""`certbound ops`: every operator's description printed whole, brackets included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.commands.ops import summary
from core.model.registry import OPERATORS, operator_class
from tests.conftest import REPO


def test_every_description_is_printed_verbatim():
    env = {**os.environ, "COLUMNS": "400"}  # wide enough that rich wraps no row
    run = subprocess.run([str(Path(sys.executable).parent / "certbound"), "ops"], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip() for line in run.stdout.splitlines()
            if line.startswith("│")}
    assert set(rows) == set(OPERATORS)
    for op_type, described in rows.items():
        assert described == summary(operator_class(op_type)), op_type
    # Rich markup would have eaten these (it read them as style tags).
    assert "[C_out, C_in/groups, *kernel]" in rows["Conv"] and "[out, in]" in rows["Gemm"]


def test_the_summary_is_the_whole_first_paragraph():
    class Documented:
        """First sentence runs
        over two lines: [a, b].

        Details that stay out."""

    assert summary(Documented) == "First sentence runs over two lines: [a, b]."
    assert summary(type("Bare", (), {})) == ""
