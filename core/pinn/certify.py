"""Certify a PINN: every asked condition's worst |residual| bounded over its whole domain by
greedy splitting, next to the empirical maximum on a grid, with a tolerance verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.pinn.network import TanhMLP
from core.pinn.options import PinnOptions
from core.pinn.pde import get_pde
from core.pinn.split import ConditionResult, SplitOptions, certify_condition

RESIDUAL_SHARE = 0.8  # of the budget, when boundary/initial conditions share it


@dataclass
class PinnResult:
    options: PinnOptions
    conditions: list[ConditionResult]
    elapsed_s: float

    @property
    def verdict(self) -> str | None:
        """'fails' if any condition fails, 'holds' if all hold, else 'unknown' (None: no tolerance)."""
        verdicts = [c.verdict for c in self.conditions]
        if self.options.tolerance is None:
            return None
        if "fails" in verdicts:
            return "fails"
        return "holds" if all(v == "holds" for v in verdicts) else "unknown"

    def summary(self) -> dict:
        """Plain JSON: per condition its figures, the pieces' boxes and bounds (the heat map)."""
        out = {"pde": self.options.pde, "domain": self.options.box().tolist(), "tolerance": self.options.tolerance,
               "verdict": self.verdict, "elapsed_s": self.elapsed_s, "conditions": {}}
        for c in self.conditions:
            out["conditions"][c.name] = {
                "certified_max": c.certified_max, "empirical_max": c.empirical_max, "ratio": c.ratio,
                "empirical_point": c.empirical_point, "pieces": len(c.paths), "elapsed_s": c.elapsed_s,
                "stopped": c.stopped, "verdict": c.verdict, "domain": c.domain.tolist(),
                **heat_map(c)}
        failing = [c for c in self.conditions if c.verdict == "fails"]
        if failing:
            out["failing_point"] = {"condition": failing[0].name, "point": failing[0].empirical_point,
                                    "residual": failing[0].empirical_max}
        return out


MAP_PIECES = 4096  # pieces shown one by one in the summary's heat map; beyond, a raster
MAP_CELLS = 64  # cells per axis of that raster


def heat_map(c: ConditionResult) -> dict:
    """{boxes, bounds}: the pieces themselves, or past MAP_PIECES a MAP_CELLS² raster of the
    domain whose cells hold the largest bound of the pieces meeting them (so the map still
    tiles the domain and its darkest cell is the certified maximum)."""
    bounds = c.bounds
    if len(bounds) <= MAP_PIECES:
        return {"boxes": [[lo.tolist(), hi.tolist()] for lo, hi in zip(c.lower, c.upper)], "bounds": bounds.tolist()}
    lo_d, hi_d = c.domain[:, 0], c.domain[:, 1]
    cells = np.where(hi_d > lo_d, MAP_CELLS, 1)
    size = np.where(hi_d > lo_d, (hi_d - lo_d) / cells, 1.0)
    first = np.clip(np.floor((c.lower - lo_d) / size), 0, cells - 1).astype(int)
    last = np.clip(np.ceil((c.upper - lo_d) / size) - 1, 0, cells - 1).astype(int)
    last = np.maximum(first, last)
    raster = np.zeros(tuple(cells))
    single = np.all(first == last, 1)
    np.maximum.at(raster, tuple(first[single].T), bounds[single])
    for k in np.flatnonzero(~single):
        index = tuple(slice(a, b + 1) for a, b in zip(first[k], last[k]))
        raster[index] = np.maximum(raster[index], bounds[k])
    boxes, values = [], []
    for index in np.ndindex(*raster.shape):
        low = lo_d + np.array(index) * size
        high = np.where(hi_d > lo_d, low + size, hi_d)
        boxes.append([low.tolist(), high.tolist()])
        values.append(float(raster[index]))
    return {"boxes": boxes, "bounds": values}


def certify_pinn(mlp: TanhMLP, options: PinnOptions, progress: Callable[[dict], bool] | None = None) -> PinnResult:
    """Run every condition of `options` in turn; `progress(event)` returning True stops."""
    started = time.monotonic()
    pde = get_pde(options.pde).with_domain(options.box())
    if mlp.n_inputs != 2 or mlp.n_outputs != pde.n_outputs:
        raise ValueError(f"{pde.name} needs a network with 2 inputs (t, x) and {pde.n_outputs} output(s); "
                         f"this one has {mlp.n_inputs} and {mlp.n_outputs}")
    names = [n for n in ("residual", "initial", "boundary") if n in options.conditions]
    results: list[ConditionResult] = []
    stopped = [False]

    def relay(event: dict) -> bool:
        stopped[0] = bool(progress and progress(event))
        return stopped[0]

    for k, name in enumerate(names):
        left = options.budget_s - (time.monotonic() - started)
        share = RESIDUAL_SHARE if name == "residual" and len(names) > 1 else 1.0 / (len(names) - k)
        split = SplitOptions(budget_s=max(left * share, 0.0), max_pieces=options.max_pieces, grid=options.grid,
                             target_ratio=options.target_ratio, tolerance=options.tolerance)
        results.append(certify_condition(mlp, pde.condition(name), split, relay))
        if stopped[0]:
            break
    return PinnResult(options, results, time.monotonic() - started)
