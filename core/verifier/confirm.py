"""Turning candidate points into confirmed counterexamples (onnxruntime has the last word)."""

from __future__ import annotations

import numpy as np
import torch

from core.result import Counterexample
from core.spec.property import Property

# Candidates replayed in onnxruntime per call: the best few are enough.
MAX_REPLAYS = 8


class CounterexampleFinder:
    """Replays candidates in onnxruntime through `core.counterexample.confirm`; keeps the first one it accepts."""

    def __init__(self, onnx_bytes: bytes, prop: Property) -> None:
        self.onnx_bytes, self.prop = onnx_bytes, prop
        self.found: Counterexample | None = None
        self.replayed = 0

    def __call__(self, xs: torch.Tensor) -> bool:
        """Try candidate inputs xs [k, n] (each clipped to the box of the region it lies in)."""
        from core.counterexample import confirm

        if self.found is not None:
            return True
        for x in xs[:MAX_REPLAYS].detach().to("cpu", torch.float64).numpy():
            for region in self.prop.regions:
                if not region.box.contains(x, tol=1e-6):
                    continue
                point = np.clip(x, region.box.lower, region.box.upper)
                self.replayed += 1
                confirmation = confirm(self.onnx_bytes, self.prop, point)
                if confirmation.ok:
                    self.found = Counterexample(point, np.asarray(confirmation.y, dtype=np.float64).reshape(-1))
                    return True
        return False
