"""Where certbound's data lives: what ships inside the package, and the full copies that
replace it when `CERTBOUND_SHARED_DIR` names them.

The package carries a 6,000-image MNIST subset (`mnist-subset.npz`) and a few small
benchmark instances of its own (`benchmarks/`, written by `core.data.make_benchmarks`),
so that an installation with nothing beside it can train, verify and run its tests.
`CERTBOUND_SHARED_DIR` names a folder of full copies: `datasets/mnist.npz` (all 70,000
images) and `benchmarks/<benchmark>/` (the VNN-COMP instances). Nothing is downloaded.
Only the standard library is imported here: the API process reads these paths too.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_ENV = "CERTBOUND_SHARED_DIR"
BUNDLED = Path(__file__).resolve().parent
BUNDLED_BENCHMARKS = BUNDLED / "benchmarks"
BUNDLED_MNIST = BUNDLED / "mnist-subset.npz"


def shared_dir() -> Path | None:
    """The folder of full copies `CERTBOUND_SHARED_DIR` names, or None when it is unset."""
    value = os.environ.get(SHARED_ENV, "").strip()
    return Path(value).expanduser() if value else None


def mnist_path() -> Path:
    """The MNIST file used when none is given: the full copy if configured, else the bundled subset."""
    shared = shared_dir()
    return shared / "datasets" / "mnist.npz" if shared else BUNDLED_MNIST


def benchmarks_dir() -> Path:
    """The benchmark folder used when none is given: the full set if configured, else the bundled one."""
    shared = shared_dir()
    return shared / "benchmarks" if shared else BUNDLED_BENCHMARKS
