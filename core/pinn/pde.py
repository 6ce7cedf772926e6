"""The PDEs a PINN can be certified on: each a domain and its conditions (the residual in
the interior, the initial condition, the boundary conditions), written once against
`core.pinn.algebra` so that points and pieces evaluate the same formula.

Inputs are (t, x) in that order; a condition's residual is a list of scalar components
(Schrödinger's has real and imaginary parts) and its maximum is over all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.pinn.algebra import Smooth

T, X = 0, 1


@dataclass(frozen=True)
class Condition:
    """A residual over `domain` ([d, 2], a zero-width row fixes that coordinate). `mirrors`
    lists extra places the network is evaluated for the same piece (x -> -x, for periodic
    boundaries). `formula(views)` gets one algebra per place (the piece itself first)."""

    name: str
    domain: np.ndarray
    formula: Callable[[list], list]
    pairs: tuple[tuple[int, int], ...] = ()
    mirrors: int = 0


@dataclass(frozen=True)
class Pde:
    name: str
    n_outputs: int
    domain: np.ndarray  # [[t0, t1], [x0, x1]]
    conditions: tuple[Condition, ...]

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no condition {name!r}; it has "
                       + ", ".join(c.name for c in self.conditions))

    def with_domain(self, domain: np.ndarray) -> "Pde":
        """The same PDE on a sub-box of its (t, x) domain (conditions keep their fixed coordinates)."""
        domain = np.asarray(domain, dtype=np.float64)
        conds = []
        for c in self.conditions:
            box = np.where((c.domain[:, 0] == c.domain[:, 1])[:, None], c.domain, domain)
            conds.append(Condition(c.name, box, c.formula, c.pairs, c.mirrors))
        return Pde(self.name, self.n_outputs, domain, tuple(conds))


SIN_PI = Smooth(lambda x: np.sin(np.pi * x), lambda x: np.pi * np.cos(np.pi * x),
                lambda lo, hi: np.full_like(lo, np.pi ** 2))
X2_COS_PI = Smooth(lambda x: x * x * np.cos(np.pi * x),
                   lambda x: 2 * x * np.cos(np.pi * x) - np.pi * x * x * np.sin(np.pi * x),
                   lambda lo, hi: 2 + 4 * np.pi * np.maximum(abs(lo), abs(hi))
                   + np.pi ** 2 * np.maximum(lo * lo, hi * hi))
TWO_SECH = Smooth(lambda x: 2 / np.cosh(x), lambda x: -2 * np.tanh(x) / np.cosh(x),
                  lambda lo, hi: np.full_like(lo, 2.0))


def _box(t0, t1, x0, x1) -> np.ndarray:
    return np.array([[t0, t1], [x0, x1]], dtype=np.float64)


def _periodic(views, outputs: int, derivative: bool) -> list:
    left, right = views
    parts = [left.u(k) - right.u(k) for k in range(outputs)]
    if derivative:
        parts += [left.d(X, k) - right.d(X, k) for k in range(outputs)]
    return parts


def burgers() -> Pde:
    """u_t + u u_x - (0.01/π) u_xx = 0 on [0, 1] x [-1, 1]; u(0, x) = -sin(πx); u(t, ±1) = 0."""
    nu = 0.01 / np.pi

    def residual(v):
        (a,) = v
        return [a.d(T) + a.mul(a.u(), a.d(X)) - a.scale(a.dd(X, X), nu)]

    return Pde("burgers", 1, _box(0, 1, -1, 1), (
        Condition("residual", _box(0, 1, -1, 1), residual, ((X, X),)),
        Condition("initial", _box(0, 0, -1, 1), lambda v: [v[0].u() + v[0].apply(SIN_PI, v[0].x(X))]),
        Condition("boundary", _box(0, 1, -1, -1), lambda v: [v[0].u(), v[1].u()], mirrors=1),
    ))


def allen_cahn() -> Pde:
    """u_t - 0.0001 u_xx + 5u³ - 5u = 0 on [0, 1] x [-1, 1]; u(0, x) = x² cos(πx); periodic in x."""

    def residual(v):
        (a,) = v
        u = a.u()
        return [a.d(T) - a.scale(a.dd(X, X), 1e-4) + a.scale(a.mul(u, a.sq(u)), 5.0) - a.scale(u, 5.0)]

    return Pde("allen_cahn", 1, _box(0, 1, -1, 1), (
        Condition("residual", _box(0, 1, -1, 1), residual, ((X, X),)),
        Condition("initial", _box(0, 0, -1, 1), lambda v: [v[0].u() - v[0].apply(X2_COS_PI, v[0].x(X))]),
        Condition("boundary", _box(0, 1, -1, -1), lambda v: _periodic(v, 1, True), mirrors=1),
    ))


def schrodinger() -> Pde:
    """i h_t + 0.5 h_xx + |h|² h = 0, h = u + iv, on [0, π/2] x [-5, 5]; h(0, x) = 2 sech(x);
    periodic in x. Components: the real and imaginary parts of the residual."""

    def residual(v):
        (a,) = v
        u, w = a.u(0), a.u(1)
        modulus = a.sq(u) + a.sq(w)
        return [a.scale(a.dd(X, X, 0), 0.5) - a.d(T, 1) + a.mul(modulus, u),
                a.d(T, 0) + a.scale(a.dd(X, X, 1), 0.5) + a.mul(modulus, w)]

    return Pde("schrodinger", 2, _box(0, np.pi / 2, -5, 5), (
        Condition("residual", _box(0, np.pi / 2, -5, 5), residual, ((X, X),)),
        Condition("initial", _box(0, 0, -5, 5), lambda v: [v[0].u(0) - v[0].apply(TWO_SECH, v[0].x(X)), v[0].u(1)]),
        Condition("boundary", _box(0, np.pi / 2, -5, -5), lambda v: _periodic(v, 2, True), mirrors=1),
    ))


PDES: dict[str, Callable[[], Pde]] = {"burgers": burgers, "allen_cahn": allen_cahn, "schrodinger": schrodinger}


def get_pde(name: str) -> Pde:
    """The PDE called `name`; KeyError naming the known ones otherwise."""
    if name not in PDES:
        raise KeyError(f"unknown pde {name!r}; known: {', '.join(sorted(PDES))}")
    return PDES[name]()
