"""Multi-task certified training: one shared trunk, a head per task (or one shared head),
the task losses combined by unitary scalarization (their plain sum) or, as measured
baselines, by the multi-task optimisers in `combiners/`.

`train_multitask(config, progress) -> MultiTaskResult` is what the command line and the
`multitask-train` job call. Names load on first use, so `MultiTaskConfig` imports without
torch (the API validates a job's config with it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "MultiTaskConfig": "core.training.multitask.config",
    "Task": "core.training.multitask.config",
    "MultiTaskReport": "core.training.multitask.evaluate",
    "MultiTaskResult": "core.training.multitask.trainer",
    "train_multitask": "core.training.multitask.trainer",
}

__all__ = sorted(_HOMES)

if TYPE_CHECKING:
    from core.training.multitask.config import MultiTaskConfig, Task
    from core.training.multitask.evaluate import MultiTaskReport
    from core.training.multitask.trainer import MultiTaskResult, train_multitask


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'core.training.multitask' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
