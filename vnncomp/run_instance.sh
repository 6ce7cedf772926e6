#!/usr/bin/env bash
# VNN-COMP tool interface: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes sat (with the counterexample), unsat, timeout, unknown or error to RESULTS_FILE.
# The verifier keeps a little of the budget back for writing the answer; the competition
# counts every second, so the certificate check is left to `certbound check` (--no-check).
set -uo pipefail
if [ "$#" -ne 6 ] || [ "$1" != "v1" ]; then
  echo "usage: $0 v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2
  exit 2
fi
ONNX="$3"; VNNLIB="$4"; RESULT="$5"; TIMEOUT="$6"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$HERE/.venv/bin/activate" ]; then . "$HERE/.venv/bin/activate"; fi
BUDGET=$(python -c "import sys; print(max(float(sys.argv[1]) - 2.0, 1.0))" "$TIMEOUT")
if ! certbound verify "$ONNX" "$VNNLIB" --timeout "$BUDGET" --out "$RESULT" --no-check; then
  echo "error" > "$RESULT"
fi
