"""The checker's Tanh step (core/certificate/network.py `Tanh`, sshaped.py)."""

from __future__ import annotations

import numpy as np

from core.certificate.network import Tanh
from tests.core.certificate import sshaped_cases as cases


def test_critical_points_have_the_slope():  # (ill-conditioned for tiny slopes, where it need not be exact)
    a = np.array([1e-6, 0.01, 0.5, 0.9, 1.0])
    x = Tanh.stretch * np.arctanh(np.sqrt(1 - a / Tanh.peak))
    assert np.allclose(Tanh.df(x), a, rtol=1e-8, atol=0) and np.allclose(Tanh.df(-x), a, rtol=1e-8, atol=0)


def test_lines_hold_for_any_slope_and_touch_the_function():
    cases.assert_lines_sound_and_tight(Tanh("s"), seed=5)


def test_an_alpha_crown_proof_checks_and_needs_its_evidence():
    cases.assert_alpha_proof_checks("Tanh", seed=4)


def test_forged_tangent_points_cannot_prove_a_violated_property():
    cases.assert_forgeries_rejected("Tanh", seed=4)


def test_a_changed_weight_is_rejected():
    cases.assert_changed_weight_rejected("Tanh", seed=4)


def test_an_input_splitting_proof_checks():
    cases.assert_input_split_proof_checks("Tanh", seed=8)
