"""The API process parses uploads and replays counterexamples without loading torch."""

from __future__ import annotations

import subprocess
import sys


def test_spec_and_counterexample_import_without_torch():
    code = ("import sys, core.spec, core.counterexample; "
            "core.spec.parse_vnnlib('(declare-const X_0 Real)(declare-const Y_0 Real)"
            "(assert (<= X_0 1))(assert (>= X_0 0))'); "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
