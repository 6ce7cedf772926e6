"""The checker's Tanh step (core/certificate/network.py); its relaxation: test_sshaped.py."""

from __future__ import annotations

import numpy as np

from core.certificate.network import Tanh


def test_the_closed_form_critical_points_solve_one_minus_t_squared():
    a = np.array([1e-6, 0.01, 0.5, 0.9, 1.0])
    t = np.sqrt(1 - a)  # 1 - t^2 = a
    assert np.allclose(Tanh.stretch * np.arctanh(np.sqrt(1 - a / Tanh.peak)), np.arctanh(t), rtol=1e-12, atol=0)
    assert np.allclose(Tanh.df(np.arctanh(t)), a, rtol=1e-8, atol=0)
    assert Tanh.df(np.array([-800.0, 800.0])).tolist() == [0.0, 0.0]  # cosh overflows to inf: no error
