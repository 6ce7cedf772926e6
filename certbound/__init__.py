"""The certbound client: submit verification jobs to a certbound server and fetch their
certificates, from Python (`Client`) or the command line (`certbound submit`, ...).

Torch-free, so it runs where the engine's dependencies are not loaded. The names below
load on first use, so that `certbound --help` does not pay for httpx. Reference:
docs/client.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certbound.client import Client as Client
    from certbound.config import ConfigError as ConfigError
    from certbound.errors import CertboundError as CertboundError
    from certbound.job import Job as Job

_HOMES = {"Client": "certbound.client", "ConfigError": "certbound.config", "CertboundError": "certbound.errors",
          "Job": "certbound.job"}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'certbound' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
