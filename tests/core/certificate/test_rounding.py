"""Rounding cannot make the checker accept: on point boxes whose exact output (in rational
arithmetic) sits on the unsafe side by less than an ulp, plain float64 evaluation often
lands on the safe side, and the checker still rejects every time."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from core.certificate import CertificateBuilder, check, network_digest, property_digest
from core.certificate.soundness import down_sum, up_sum
from tests.core.certificate.nets import forward, onnx_bytes, one_row_property, random_layers


def _exact_output(layers, x: np.ndarray) -> Fraction:
    h = [Fraction(float(v)) for v in x]
    for i, (W, b) in enumerate(layers):
        h = [sum((Fraction(float(w)) * v for w, v in zip(row, h)), Fraction(float(bias))) for row, bias in zip(W, b)]
        if i < len(layers) - 1:
            h = [max(v, Fraction(0)) for v in h]
    return h[0]


def _at_or_above(value: Fraction) -> float:
    out = float(value)
    return out if Fraction(out) >= value else float(np.nextafter(out, np.inf))


def test_outputs_within_an_ulp_of_the_threshold_are_never_proved():
    rng = np.random.default_rng(0)
    naive_wrong = 0
    for trial in range(60):
        layers = random_layers(rng, [6, 12, 12, 1])
        x = rng.uniform(-1, 1, 6)
        d = _at_or_above(_exact_output(layers, x))  # y(x) <= d exactly: x is a counterexample
        naive_wrong += bool(forward(layers, x)[0] > d)
        prop = one_row_property(x, x, [1.0], d)
        data = onnx_bytes(layers)
        builder = CertificateBuilder(network_digest(data), property_digest(prop), ["relu0", "relu1"])
        builder.target(0, 0).close(0)
        result = check(data, prop, builder.finish())
        assert not result.valid and "not > 0" in result.reason, (trial, result)
    assert naive_wrong > 0  # the instances do exercise rounding


def test_outward_sums_cover_the_exact_value_and_keep_exact_zeros():
    """`up_sum`/`down_sum` bound a rounded sum outward like `up`/`down`, except that an exact
    zero stays 0.0, not the subnormal 4.9e-324 that slows every later product."""
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(-1, 1, 200), rng.uniform(-1e-300, 1e-300, 50), [0.0, 5e-324, -5e-324, 1.0]])
    b = np.concatenate([rng.uniform(-1, 1, 200), rng.uniform(-1e-300, 1e-300, 50), [0.0, 5e-324, 0.0, 1.0]])
    b[:40] = a[:40]  # equal pairs: an exact zero difference
    for sign in (1, -1):
        total = a + sign * b
        exact = [Fraction(float(x)) + sign * Fraction(float(y)) for x, y in zip(a, b)]
        upper, lower = up_sum(total), down_sum(total)
        assert all(Fraction(float(lo)) <= e <= Fraction(float(hi)) for lo, e, hi in zip(lower, exact, upper))
        zero = total == 0
        assert zero.sum() >= (40 if sign == -1 else 1)
        assert np.all(upper[zero] == 0.0) and np.all(lower[zero] == 0.0)
        assert np.all(upper[~zero] > total[~zero]) and np.all(lower[~zero] < total[~zero])
