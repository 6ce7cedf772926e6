"""Combiners of task losses behind one interface (`Combiner.backward`), by name.

`unitary` (the plain sum) is the default; the others are the multi-task optimisers it is
measured against.
"""

from __future__ import annotations

import torch

from core.training.multitask.combiners.base import Combiner, GradientCombiner, WeightingCombiner
from core.training.multitask.combiners.cagrad import CAGrad
from core.training.multitask.combiners.graddrop import GradDrop
from core.training.multitask.combiners.imtl import IMTLG
from core.training.multitask.combiners.mgda import MGDAUB
from core.training.multitask.combiners.pcgrad import PCGrad
from core.training.multitask.combiners.rlw import RandomLossWeighting
from core.training.multitask.combiners.unitary import Unitary

CLASSES: dict[str, type[Combiner]] = {c.name: c for c in (Unitary, MGDAUB, PCGrad, GradDrop, IMTLG, CAGrad,
                                                          RandomLossWeighting)}

__all__ = ["CLASSES", "Combiner", "GradientCombiner", "WeightingCombiner", "make"]


def make(name: str, generator: torch.Generator | None = None, cagrad_c: float = 0.5) -> Combiner:
    """The combiner called `name` (one of `CLASSES`)."""
    if name not in CLASSES:
        raise ValueError(f"unknown combiner {name!r}; choose one of {', '.join(CLASSES)}")
    return CAGrad(generator, cagrad_c) if name == "cagrad" else CLASSES[name](generator)
