"""The independent checker of PINN certificates (`core.pinn.certificate`).

It reads the network with the verifier-independent reader of `core.certificate.network`,
rebuilds every piece from the domain and the split paths (the leaves must tile the domain:
every internal node has both halves, along one axis, and no path is both leaf and node),
and re-derives each piece's residual bounds with `core.pinn.rigorous` (outward rounding),
following the PDE's formula (`core.pinn.pde`, the specification). A piece whose re-derived
bound exceeds its claim (beyond a relative 1e-6) rejects the certificate; the certified
maximum the check reports is the re-derived one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from core.certificate.network import Bias, Linear, Scale, Tanh, Unsupported, chain_of, read_onnx
from core.pinn import rigorous as R
from core.pinn.certificate import read_certificate
from core.pinn.pde import X, get_pde

REL_SLACK, ABS_SLACK = 1e-6, 1e-12
BATCH = 2048


@dataclass
class PinnCheck:
    valid: bool
    reason: str = ""
    certified: dict[str, float] = field(default_factory=dict)  # condition -> re-derived max |residual|
    verdict: str | None = None


def check_pinn(onnx_source, data: bytes) -> PinnCheck:
    """Check the certificate `data` against the network; never raises on bad input."""
    try:
        onnx_bytes, model = read_onnx(onnx_source)
        manifest, arrays = read_certificate(data)
        if manifest["network_sha256"] != hashlib.sha256(onnx_bytes).hexdigest():
            return PinnCheck(False, "the certificate is for another network")
        steps = _steps(chain_of(model))
        pde = get_pde(manifest["pde"]).with_domain(np.array(manifest["domain"], dtype=np.float64))
        certified = {}
        for claim in manifest["conditions"]:
            condition = pde.condition(claim["name"])
            if not np.array_equal(np.array(claim["domain"], dtype=np.float64), condition.domain):
                return PinnCheck(False, f"{claim['name']}: the domain is not the PDE's")
            a = arrays[claim["name"]]
            lower, upper = leaves(condition.domain, a["codes"], a["ends"])
            if len(lower) != len(a["lo"]) or len(a["lo"]) != len(a["hi"]):
                return PinnCheck(False, f"{claim['name']}: {len(lower)} pieces but {len(a['lo'])} bounds")
            claimed = np.maximum(np.abs(a["lo"]), np.abs(a["hi"])).max(1)
            if claimed.max() > claim["certified_max"]:
                return PinnCheck(False, f"{claim['name']}: a piece's bound exceeds the claimed maximum")
            derived = np.concatenate([_piece_bounds(steps, condition, lower[s:s + BATCH], upper[s:s + BATCH])
                                      for s in range(0, len(lower), BATCH)])
            over = derived > claimed + REL_SLACK * claimed + ABS_SLACK
            if over.any():
                k = int(np.flatnonzero(over)[0])
                return PinnCheck(False, f"{claim['name']}: piece {k} re-derives to {derived[k]:.6g}, above its "
                                 f"claimed {claimed[k]:.6g}")
            certified[claim["name"]] = float(derived.max())
    except (ValueError, KeyError, Unsupported) as exc:
        return PinnCheck(False, str(exc))
    verdict = None
    if manifest["tolerance"] is not None:
        verdict = "holds" if max(certified.values()) <= manifest["tolerance"] else "not proven"
    return PinnCheck(True, "", certified, verdict)


def leaves(domain: np.ndarray, codes: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The leaves' boxes ([P, d] each, in the order of the paths) rebuilt from the paths;
    ValueError unless they tile `domain`."""
    starts = np.concatenate([[0], ends[:-1]]).astype(int)
    if len(ends) == 0 or np.any(np.diff(ends) < 0) or ends[-1] != len(codes):
        raise ValueError("malformed split paths")
    given = [bytes(codes[s:e]) for s, e in zip(starts, ends)]
    order = sorted(range(len(given)), key=given.__getitem__)
    paths = [given[k] for k in order]
    lower, upper = np.empty((len(paths), len(domain))), np.empty((len(paths), len(domain)))
    stack = [(b"", 0, len(paths), domain[:, 0].copy(), domain[:, 1].copy())]
    while stack:
        prefix, i, j, lo, hi = stack.pop()
        depth = len(prefix)
        if paths[i] == prefix:
            if j - i != 1:
                raise ValueError(f"path {prefix.hex()} is both a piece and split further")
            lower[order[i]], upper[order[i]] = lo, hi
            continue
        axis = paths[i][depth] // 2
        nxt = [p[depth] for p in paths[i:j]]
        if axis >= len(domain) or set(nxt) != {2 * axis, 2 * axis + 1} or not hi[axis] > lo[axis]:
            raise ValueError(f"the pieces under {prefix.hex() or 'the root'} do not split it in two halves")
        cut = i + nxt.index(2 * axis + 1)
        mid = (lo[axis] + hi[axis]) / 2
        lo_half, hi_half = hi.copy(), lo.copy()
        lo_half[axis], hi_half[axis] = mid, mid
        stack.append((prefix + bytes([2 * axis]), i, cut, lo, lo_half))
        stack.append((prefix + bytes([2 * axis + 1]), cut, j, hi_half, hi))
    return lower, upper


def _steps(chain) -> list:
    for s in chain.steps:
        if not isinstance(s, (Linear, Bias, Scale, Tanh)) or (isinstance(s, Scale) and s.divide):
            raise Unsupported(f"a PINN certificate covers chains of Gemm/MatMul, Add, Mul and Tanh; "
                              f"this network has {type(s).__name__}{' (divide)' if isinstance(s, Scale) else ''}")
        if isinstance(s, Linear) and not isinstance(s.W, np.ndarray):
            raise Unsupported("a sparse layer")
    return chain.steps


def _affine(q: R.Box, step, derivative: bool) -> R.Box:
    if isinstance(step, Linear):
        return R.affine(q, step.W, None if derivative else step.b)
    if isinstance(step, Bias):
        return q if derivative else R.affine(q, np.eye(len(step.b)), step.b)
    return R.affine(q, np.diag(np.broadcast_to(step.s.reshape(-1), q.lb.shape[1:])), None)


def derivatives(steps, lower: np.ndarray, upper: np.ndarray, pairs):
    """Rigorous (u, grad, hess) enclosures over the boxes, following the chain step by step."""
    center, radius = R.midpoint(lower, upper)
    batch, d = center.shape
    eye = np.broadcast_to(np.eye(d), (batch, d, d)) * radius[:, None, :]
    z = R.make(eye.copy(), center.copy(), eye.copy(), center.copy())
    zero_w = np.zeros((batch, d, d))
    dz = [R.Box(zero_w, np.eye(d)[i] * np.ones((batch, 1)), zero_w, np.eye(d)[i] * np.ones((batch, 1)),
                np.eye(d)[i] * np.ones((batch, 1)), np.eye(d)[i] * np.ones((batch, 1))) for i in range(d)]
    zero = np.zeros((batch, d))
    ddz = {p: R.Box(zero_w, zero, zero_w, zero, zero, zero) for p in pairs}
    for step in steps:
        if not isinstance(step, Tanh):
            z = _affine(z, step, False)
            dz = [_affine(g, step, True) for g in dz]
            ddz = {p: _affine(h, step, True) for p, h in ddz.items()}
            continue
        s1 = R.relax(z, R.tanh_lines(1, z.lo, z.hi))
        s2 = R.relax(z, R.tanh_lines(2, z.lo, z.hi)) if pairs else None
        a = R.relax(z, R.tanh_lines(0, z.lo, z.hi))
        new_dz = [R.product(s1, g) for g in dz]
        ddz = {(i, j): R.add(R.product(s2, R.square(dz[i]) if i == j else R.product(dz[i], dz[j])),
                             R.product(s1, ddz[(i, j)])) for i, j in pairs}
        z, dz = a, new_dz
    return z, dz, ddz, center, radius


class _CheckAlgebra:
    """The PDE formulas' operations on rigorous boxes."""

    def __init__(self, u, grad, hess, center, radius):
        self._u, self._grad, self._hess, self._c, self._r = u, grad, hess, center, radius

    @staticmethod
    def _rows(q: R.Box, k: int) -> R.Box:
        s = slice(k, k + 1)
        return R.Box(q.lw[:, s], q.lb[:, s], q.uw[:, s], q.ub[:, s], q.lo[:, s], q.hi[:, s])

    def x(self, i: int) -> R.Box:
        w = np.zeros((len(self._c), 1, self._c.shape[1]))
        w[:, 0, i] = self._r[:, i]
        c = self._c[:, i:i + 1]
        return _Q(R.make(w, c, w, c))

    def u(self, k: int = 0):
        return _Q(self._rows(self._u, k))

    def d(self, i: int, k: int = 0):
        return _Q(self._rows(self._grad[i], k))

    def dd(self, i: int, j: int, k: int = 0):
        return _Q(self._rows(self._hess[(min(i, j), max(i, j))], k))

    @staticmethod
    def mul(a, b):
        return _Q(R.product(a.box, b.box))

    @staticmethod
    def sq(a):
        return _Q(R.square(a.box))

    @staticmethod
    def scale(a, c: float):
        return _Q(R.scale(a.box, c))

    @staticmethod
    def apply(fn, a):
        return _Q(R.smooth(a.box, fn))


class _Q:
    """A rigorous box with the +, - the formulas use."""

    def __init__(self, box: R.Box):
        self.box = box

    def __add__(self, other):
        return _Q(R.add(self.box, other.box) if isinstance(other, _Q) else R.shift(self.box, float(other)))

    def __neg__(self):
        return _Q(R.negate(self.box))

    def __sub__(self, other):
        return self + (-other)


def _piece_bounds(steps, condition, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    places = [(lower, upper)]
    if condition.mirrors:
        mlo, mhi = lower.copy(), upper.copy()
        mlo[:, X], mhi[:, X] = -upper[:, X], -lower[:, X]
        places.append((mlo, mhi))
    views = []
    for lo, hi in places:
        u, grad, hess, center, radius = derivatives(steps, lo, hi, condition.pairs)
        views.append(_CheckAlgebra(u, grad, hess, center, radius))
    parts = condition.formula(views)
    lo = np.concatenate([p.box.lo for p in parts], 1)
    hi = np.concatenate([p.box.hi for p in parts], 1)
    return np.maximum(np.abs(lo), np.abs(hi)).max(1)
