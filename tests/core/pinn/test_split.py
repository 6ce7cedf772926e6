"""Greedy splitting: the certified maximum falls toward the empirical one, the pieces tile
the domain, and the tolerance verdicts are what the figures say."""

from __future__ import annotations

import numpy as np
import pytest

from core.pinn.pde import get_pde
from core.pinn.split import SplitOptions, certify_condition
from tests.core.pinn.nets import random_mlp

MLP = random_mlp(11, (2, 10, 10, 1), gain=1.5)
RESIDUAL = get_pde("burgers").condition("residual")


@pytest.mark.parametrize("quad", [True, False])
def test_splitting_tightens_and_tiles_the_domain(quad):
    one = certify_condition(MLP, RESIDUAL, SplitOptions(max_pieces=1, grid=41))
    many = certify_condition(MLP, RESIDUAL, SplitOptions(max_pieces=300, grid=41, target_ratio=1.01, quad=quad))
    assert one.certified_max >= one.empirical_max and many.certified_max >= many.empirical_max
    assert many.certified_max < 0.5 * one.certified_max
    assert len(many.paths) > 1
    area = np.prod(many.upper - many.lower, 1).sum()
    assert np.isclose(area, 2.0)  # the leaves' areas add up to the domain's ([0, 1] x [-1, 1])
    curve = [e["certified_max"] for e in many.history]
    assert curve[-1] <= curve[0]


def test_verdicts():
    base = certify_condition(MLP, RESIDUAL, SplitOptions(max_pieces=64, grid=41))
    holds = certify_condition(MLP, RESIDUAL, SplitOptions(grid=41, tolerance=2 * base.certified_max))
    assert holds.verdict == "holds" and holds.stopped == "tolerance"
    assert holds.certified_max <= 2 * base.certified_max
    fails = certify_condition(MLP, RESIDUAL, SplitOptions(grid=41, tolerance=0.5 * base.empirical_max))
    assert fails.verdict == "fails" and fails.stopped == "tolerance"
    unknown = certify_condition(MLP, RESIDUAL, SplitOptions(grid=41, max_pieces=4, tolerance=1.0001 * base.empirical_max))
    assert unknown.verdict == "unknown"


def test_progress_can_stop_it():
    events = []
    result = certify_condition(MLP, RESIDUAL, SplitOptions(grid=21, target_ratio=1.0),
                               progress=lambda e: events.append(e) or len(events) >= 3)
    assert result.stopped == "cancelled" and len(events) == 3
    assert events[0]["pieces"] == 1 and events[-1]["pieces"] > 1


def test_a_large_split_is_mapped_as_a_raster_that_keeps_the_maximum():
    from core.pinn.certify import MAP_CELLS, heat_map
    from core.pinn.split import ConditionResult

    t, x = np.meshgrid(np.linspace(0, 1, 81)[:-1], np.linspace(-1, 1, 81)[:-1], indexing="ij")
    lower = np.stack([t.ravel(), x.ravel()], 1)
    upper = lower + [1 / 80, 2 / 80]
    hi = np.random.default_rng(0).uniform(size=(len(lower), 1))
    result = ConditionResult("residual", RESIDUAL.domain, [b""] * len(lower), lower, upper, -hi, hi, 0.5,
                             [0.0, 0.0], 1.0, "budget")
    small = heat_map(ConditionResult("residual", RESIDUAL.domain, [b""] * 3, lower[:3], upper[:3], -hi[:3],
                                     hi[:3], 0.5, [0.0, 0.0], 1.0, "budget"))
    assert len(small["boxes"]) == 3 and small["bounds"] == hi[:3, 0].tolist()
    raster = heat_map(result)
    assert len(raster["boxes"]) == MAP_CELLS ** 2
    assert max(raster["bounds"]) == hi.max() and min(raster["bounds"]) > 0
    area = sum((b[1][0] - b[0][0]) * (b[1][1] - b[0][1]) for b in raster["boxes"])
    assert np.isclose(area, 2.0)


@pytest.mark.parametrize("quad", [True, False])
def test_the_piece_budget_is_kept(quad):
    result = certify_condition(MLP, RESIDUAL, SplitOptions(max_pieces=50, grid=21, quad=quad))
    assert result.stopped in ("pieces", "ratio") and len(result.paths) <= 50
