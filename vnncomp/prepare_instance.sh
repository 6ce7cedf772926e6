#!/usr/bin/env bash
# VNN-COMP tool interface: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Checks that the network and the property load, so that run_instance.sh spends its
# budget on verification. Exit 0 when the instance is ready, non-zero (with one line
# naming the problem) when it is not.
set -euo pipefail
if [ "$#" -ne 4 ] || [ "$1" != "v1" ]; then
  echo "usage: $0 v1 CATEGORY ONNX VNNLIB" >&2
  exit 2
fi
ONNX="$3"; VNNLIB="$4"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$HERE/.venv/bin/activate" ]; then . "$HERE/.venv/bin/activate"; fi
python - "$ONNX" "$VNNLIB" <<'PY'
import sys
from pathlib import Path

import typer

from core.commands.verify import load_instance

try:
    load_instance(Path(sys.argv[1]), Path(sys.argv[2]))
except typer.Exit as stop:
    sys.exit(stop.exit_code)
PY
