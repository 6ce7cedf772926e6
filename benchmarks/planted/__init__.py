"""The planted benchmark (issue 29): counterexamples hidden in a bump 1e-2 to 1e-5 of the box
wide, which sampling and PGD from the box do not find, and near-miss decoys that are unsat.

Benchmark-only (it needs the exact MILP reference and writes files); the product does not
import it. `python -m benchmarks.planted generate OUT_DIR` and `... run DIR` (__main__.py).
"""
