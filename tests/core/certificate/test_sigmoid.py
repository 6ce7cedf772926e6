"""The checker's Sigmoid step (core/certificate/network.py); its relaxation: test_sshaped.py."""

from __future__ import annotations

import numpy as np

from core.certificate.network import Sigmoid


def test_the_closed_form_critical_points_solve_s_times_one_minus_s():
    a = np.array([1e-6, 0.01, 0.1, 0.2, 0.25])
    s = (1 + np.sqrt(1 - 4 * a)) / 2  # s(1 - s) = a
    x = np.log(s / (1 - s))
    assert np.allclose(Sigmoid.stretch * np.arctanh(np.sqrt(1 - a / Sigmoid.peak)), x, rtol=1e-9, atol=1e-12)
    assert np.allclose(Sigmoid.df(x), a, rtol=1e-8, atol=0) and np.allclose(Sigmoid.df(-x), a, rtol=1e-8, atol=0)
    assert Sigmoid.f(np.array([-800.0]))[0] == 0.0 and Sigmoid.df(np.array([800.0]))[0] == 0.0  # no overflow error
