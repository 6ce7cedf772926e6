"""Certified training: IBP, CROWN-IBP, IBP-R, CC-IBP and MTL-IBP on the engine's own bounds.

`train(config, progress, checkpoint_dir) -> TrainResult` is the whole public surface the
command line and the service need; the rest is re-exported for tests and notebooks.

Names load on first use (PEP 562), so `core.training.config` can be imported without
torch: the API validates a train job's `TrainConfig` before queueing it, and the API
process never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "TrainConfig": "core.training.config",
    "EvalReport": "core.training.evaluate",
    "evaluate": "core.training.evaluate",
    "robust_loss": "core.training.losses",
    "TrainProgress": "core.training.trainer",
    "TrainResult": "core.training.trainer",
    "train": "core.training.trainer",
}

__all__ = sorted(_HOMES)

if TYPE_CHECKING:
    from core.training.config import TrainConfig
    from core.training.evaluate import EvalReport, evaluate
    from core.training.losses import robust_loss
    from core.training.trainer import TrainProgress, TrainResult, train


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'core.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
