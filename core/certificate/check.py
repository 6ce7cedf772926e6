"""`check(network, property, certificate) -> CheckResult`: the independent checker.

It trusts nothing in the certificate but its shape: it reads the network itself
(`network.py`), recomputes every intermediate and leaf bound in float64 with rigorous
rounding (`soundness.py`) from the certificate's parameters, clamped to their valid
ranges, and checks that the leaves cover every box (`tree.py`). No torch, and no code
shared with the bounding engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from threadpoolctl import threadpool_limits

from core.certificate.anderson import AndersonForm, anderson_form
from core.certificate.format import (ANDERSON_PARTS, INHERIT, RECOMPUTE, WITHIN, Certificate, LemmaProof, TargetProof, network_digest,
                                     property_digest)
from core.certificate.leaf import WORK_ELEMENTS, NetworkBoxes, leaf_lower_bounds, network_boxes
from core.certificate.network import Chain, Unsupported, chain_of, read_onnx
from core.certificate.tree import Domains, Invalid, node_domains
from core.spec.property import Conjunction, Property, Region

if TYPE_CHECKING:
    from core.certificate.split import Plan


@dataclass(frozen=True)
class CheckResult:
    """`valid` with `reason` "" , or not valid with the first reason; `time_s` the checking
    time. `stopped`: the check ran out of its time limit, so it decided nothing (`reason`
    says so): not valid, but not shown invalid either."""

    valid: bool
    reason: str
    time_s: float
    leaves: int = 0
    stopped: bool = False

    def __str__(self) -> str:
        if self.valid:
            return "valid"
        return f"stopped: {self.reason}" if self.stopped else f"invalid: {self.reason}"


# BLAS threads of the checker's NumPy products, whatever the machine: they are small, so a
# second thread gains 3-9% on a quiet machine, and beside another busy process (a second
# worker) it doubles the check's time and slows that process by a third
# (docs/results/certificate.md); `check --workers N` spreads a check over processes instead.
CHECK_BLAS_THREADS = 1


class TimeLimit(Exception):
    """The check passed its time limit before deciding (the message says which)."""


def check(network: bytes | str | Path, prop: Property | bytes | str | Path,
          certificate: Certificate | bytes | str | Path, time_limit_s: float | None = None,
          part: tuple[int, Plan] | None = None) -> CheckResult:
    """Decide whether `certificate` proves that no input in `prop`'s boxes reaches its unsafe
    set through `network` (ONNX path or bytes, plain or gzipped; `prop` a Property or a
    VNN-LIB path/bytes; `certificate` a Certificate or its file). With `time_limit_s` the
    check stops, `stopped`, once it has run that long (looked at before every layer's bounds).

    `part` = (k, plan): check only part k of a split check (core.certificate.split):
    every tree's shape and coverage whole, but the bounds of target t's nodes only where
    `plan.targets[t]` is k or -1 (the nodes above the cut), and the proofs of the lemmas
    `plan.lemmas` gives part k. The certificate is valid when every part is."""
    with threadpool_limits(limits=CHECK_BLAS_THREADS, user_api="blas"):
        return _check(network, prop, certificate, time_limit_s, part)


def _check(network: bytes | str | Path, prop: Property | bytes | str | Path,
           certificate: Certificate | bytes | str | Path, time_limit_s: float | None,
           part: tuple[int, Plan] | None) -> CheckResult:
    started = time.monotonic()
    leaves = 0

    def tick() -> None:
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            raise TimeLimit(f"the check did not finish within its time limit of {time_limit_s:g} s")

    try:
        data, model = read_onnx(network)
        if not isinstance(prop, Property):
            from core.spec import load_property

            prop = load_property(prop)
        if not isinstance(certificate, Certificate):
            certificate = Certificate.load(certificate)
        chain = chain_of(model)
        _check_binding(data, prop, certificate, chain)
        mine = None if part is None else part[1].lemmas == part[0]
        proven, leaves = _check_lemmas(chain, prop, certificate, tick, mine)
        shared: dict[bytes, NetworkBoxes] = {}
        for t, target in enumerate(certificate.targets):
            clamp = proven.get(target.region, {}) if target.root == "lemmas" else None
            keep = None if part is None else np.isin(part[1].targets[t], (-1, part[0]))
            leaves += _check_target(chain, prop, certificate.relu_layers, target, shared, certificate.version,
                                    _root_slopes(chain, certificate, target), tick, clamp, keep)
    except TimeLimit as exc:
        return CheckResult(False, str(exc), time.monotonic() - started, leaves, stopped=True)
    except (Invalid, Unsupported, ValueError, OSError, EOFError) as exc:
        return CheckResult(False, str(exc), time.monotonic() - started, leaves)
    except (IndexError, KeyError, TypeError) as exc:  # arrays of the wrong shape or type in the file
        return CheckResult(False, f"malformed certificate: {exc!r}", time.monotonic() - started, leaves)
    return CheckResult(True, "", time.monotonic() - started, leaves)


def _check_binding(data: bytes, prop: Property, certificate: Certificate, chain: Chain) -> None:
    """The certificate is about this network and property, and names every (region, disjunct) once."""
    if certificate.network_sha256 != network_digest(data):
        raise Invalid("the certificate is for another network (sha256 differs)")
    if certificate.property_sha256 != property_digest(prop):
        raise Invalid("the certificate is for another property (sha256 differs)")
    if (prop.n_inputs, prop.n_outputs) != (chain.sizes[0], chain.sizes[-1]):
        raise Invalid(f"the property has {prop.n_inputs} inputs and {prop.n_outputs} outputs, "
                      f"the network {chain.sizes[0]} and {chain.sizes[-1]}")
    if sorted(certificate.relu_layers) != sorted(chain.relus):
        raise Invalid("the certificate's ReLU layers are not the network's")
    claimed = sorted((t.region, t.disjunct) for t in certificate.targets)
    needed = sorted((r, k) for r, region in enumerate(prop.regions) for k in range(len(region.unsafe)))
    if claimed != needed:
        missing = sorted(set(needed) - set(claimed))
        what = f"region {missing[0][0]} disjunct {missing[0][1]} has no proof" if missing else \
            "proofs are repeated or name regions/disjuncts the property lacks"
        raise Invalid(what)


def _check_lemmas(chain: Chain, prop: Property, certificate: Certificate, tick: Callable[[], None],
                  mine: np.ndarray | None = None) -> tuple[dict[int, dict[int, tuple[np.ndarray, np.ndarray]]], int]:
    """Check every lemma, those on earlier layers first (the proofs of those `mine`
    [lemmas] marks only, where given: other parts of a split check check the rest);
    returns what they prove, per region `{step: (lower, upper)}` [size] bounds on the
    inputs of chain steps (±inf where no lemma says anything), and the number of leaves
    checked. A lemma's proof is a target on the chain cut at its layer's input, refuting
    `side * z[neuron] <= threshold`; its root boxes (`root = "lemmas"`) use the region's
    lemma slopes and the lemmas already proven, on earlier layers only."""
    proven: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    shared: dict[int, dict[bytes, NetworkBoxes]] = {}  # per cut: root boxes of the cut chain
    leaves = 0
    step = chain.activations
    order = sorted(range(len(certificate.lemmas)), key=lambda k: step.get(certificate.lemmas[k].layer, -1))
    for k in order:
        lemma = certificate.lemmas[k]
        i = _lemma_step(chain, prop, lemma, k)
        n = chain.sizes[i]
        C = np.zeros((1, n))
        C[0, lemma.neuron] = lemma.side
        unsafe = (Conjunction(C, np.array([lemma.threshold], np.float64)),)
        cut = Property(prop.n_inputs, n, tuple(Region(region.box, unsafe) for region in prop.regions))
        region = lemma.proof.region
        slopes = _root_slopes(chain, certificate, lemma.proof)
        earlier = {j: bounds for j, bounds in proven.get(region, {}).items() if j < i}
        try:
            if mine is None or mine[k]:
                leaves += _check_target(Chain(chain.steps[:i], chain.sizes[:i + 1]), cut, certificate.relu_layers,
                                        dataclasses.replace(lemma.proof, disjunct=0), shared.setdefault(i, {}),
                                        certificate.version, slopes and {a: by for a, by in slopes.items() if a < i},
                                        tick, earlier if lemma.proof.root == "lemmas" else None)
        except Invalid as exc:
            raise Invalid(f"lemma {k} ({lemma.side:+d} * {lemma.layer}[{lemma.neuron}] >= {lemma.threshold:g}): "
                          f"{exc}") from None
        lower, upper = proven.setdefault(region, {}).setdefault(i, (np.full(n, -np.inf), np.full(n, np.inf)))
        if lemma.side == 1:
            lower[lemma.neuron] = max(lower[lemma.neuron], lemma.threshold)
        else:
            upper[lemma.neuron] = min(upper[lemma.neuron], -lemma.threshold)
    return proven, leaves


def _lemma_step(chain: Chain, prop: Property, lemma: LemmaProof, k: int) -> int:
    """The chain step whose input lemma `k` bounds; raises `Invalid` for a lemma that names no
    activation, neuron or region of the network and property, or has no finite threshold."""
    i = chain.activations.get(lemma.layer)
    if i is None:
        raise Invalid(f"lemma {k} names {lemma.layer!r}, not an activation layer of the network")
    if lemma.side not in (1, -1) or not 0 <= lemma.neuron < chain.sizes[i]:
        raise Invalid(f"lemma {k} has side {lemma.side} (expected 1 or -1) or neuron {lemma.neuron} "
                      f"outside {lemma.layer!r} ({chain.sizes[i]} neurons)")
    if not np.isfinite(lemma.threshold) or not 0 <= lemma.proof.region < len(prop.regions):
        raise Invalid(f"lemma {k} has threshold {lemma.threshold} or region {lemma.proof.region}: "
                      "not finite, or not a region of the property")
    return i


def _check_target(chain: Chain, prop: Property, relu_layers: list[str], target: TargetProof,
                  shared: dict[bytes, NetworkBoxes], version: int,
                  slopes: dict[int, dict[int, np.ndarray]] | None, tick: Callable[[], None],
                  clamp: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
                  keep: np.ndarray | None = None) -> int:
    """Check one target's tree and leaves, level by level from the root (only the nodes
    `keep` [nodes] marks, with their ancestors, where given): every node's ReLU
    boxes are its parent's (INHERIT) or those intersected with its own (RECOMPUTE), then
    its split. `shared` keeps root boxes per region box, so the disjuncts of a region
    (often closed at the root) bound the network once. `slopes`: the root's CROWN slopes
    (`_root_slopes`; None: adaptive); `clamp`: the lemmas' bounds on the root's boxes
    (`_check_lemmas`). `tick` raises `TimeLimit` once the check's time is up."""
    if target.intermediate not in (RECOMPUTE, WITHIN, INHERIT):
        raise Invalid(f"region {target.region} disjunct {target.disjunct}: intermediate bounds "
                      f"{target.intermediate!r}, expected {RECOMPUTE!r}, {WITHIN!r} or {INHERIT!r}")
    every_neuron = version == 1
    region = prop.regions[target.region]
    lower, upper = region.box.lower.astype(np.float64), region.box.upper.astype(np.float64)
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise Invalid(f"region {target.region} has an unbounded input box")
    sizes = {name: chain.sizes[i] for name, i in chain.activations.items()}
    domains = node_domains(target, lower, upper, relu_layers, sizes)
    conjunction = region.unsafe[target.disjunct]
    params = _parameters(target, conjunction, sizes, set(chain.relus))
    form = _anderson_parameters(chain, target, params) if target.anderson else None
    leaf_row = np.full(target.n_nodes, -1)
    leaf_row[np.asarray(target.leaf_node, np.int64)] = np.arange(target.n_leaves)
    parent = np.asarray(target.parent, np.int64)
    # a backward pass's rows per node: 2 per neuron of a layer where boxes are recomputed,
    # only the final bound's where every node below the root inherits them
    widest = max(chain.sizes + [len(conjunction.d)])
    per_node = params["rows"].shape[1] if target.intermediate == INHERIT else 2 * widest
    chunk = max(1, WORK_ELEMENTS // (per_node * widest))
    level = np.array([0])
    row_of = np.full(target.n_nodes, -1)  # a node's row in its level's arrays
    above: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # the previous level's ReLU boxes
    while len(level):
        row_of[level] = np.arange(len(level))
        parts: dict[int, list] = {}
        for start in range(0, len(level), chunk):
            nodes = level[start:start + chunk]
            if above is None:
                net = _root_boxes(chain, _rows(domains, nodes), shared, every_neuron, slopes, tick, clamp)
            else:
                rows = row_of[parent[nodes]]
                net = network_boxes(chain, _rows(domains, nodes), {i: (lo[rows], hi[rows]) for i, (lo, hi) in above.items()},
                                    target.intermediate != INHERIT, every_neuron, target.intermediate == WITHIN,
                                    tick=tick)
            for i in net.relax:
                parts.setdefault(i, []).append(net.boxes[i])
            _check_leaves(chain, target, conjunction, net, nodes, leaf_row, params, form)
        above = {i: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps])) for i, ps in parts.items()}
        level = np.flatnonzero(np.isin(parent, level) if keep is None else np.isin(parent, level) & keep)
    return target.n_leaves if keep is None else int(np.count_nonzero(keep[np.asarray(target.leaf_node, np.int64)]))


def _root_boxes(chain: Chain, domains: Domains, shared: dict[bytes, NetworkBoxes], every_neuron: bool,
                slopes: dict[int, dict[int, np.ndarray]] | None, tick: Callable[[], None],
                clamp: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> NetworkBoxes:
    """The root's boxes, computed once per region box (and slopes and lemmas): CROWN's, or
    with `slopes` those of CROWN passes with the given slopes over the boxes found so far,
    intersected with CROWN's and then with the lemmas' `clamp` (as
    `core.bounds.intermediate_alpha` derives them)."""
    if not slopes and not clamp:
        key = _key(domains)
        if key not in shared:
            shared[key] = network_boxes(chain, domains, every_neuron=every_neuron, tick=tick)
        return shared[key]
    digest = hashlib.sha256(b"slopes")
    for i, j in sorted((i, j) for i, by in (slopes or {}).items() for j in by):
        digest.update(f"{i}/{j}".encode() + slopes[i][j].tobytes())
    for i, (lo, hi) in sorted((clamp or {}).items()):
        digest.update(f"clamp/{i}".encode() + lo.tobytes() + hi.tobytes())
    key = _key(domains) + digest.digest()
    if key not in shared:
        plain = _root_boxes(chain, domains, shared, every_neuron, None, tick)
        crown = {i: plain.boxes[i] for i in plain.relax}
        shared[key] = network_boxes(chain, domains, crown, True, every_neuron, slopes=slopes, tick=tick, clamp=clamp)
    return shared[key]


def _root_slopes(chain: Chain, certificate: Certificate,
                 target: TargetProof) -> dict[int, dict[int, np.ndarray]] | None:
    """The region's root slopes by chain step, `slopes[i][j]` [2 n_i, n_j] float64, for a
    target whose root uses them ("alpha": `root_slopes`, "lemmas": `lemma_slopes`; None for
    "crown"); shapes and layer order checked."""
    if target.root == "crown":
        return None
    if target.root not in ("alpha", "lemmas"):
        raise Invalid(f"region {target.region} disjunct {target.disjunct}: root {target.root!r}, "
                      "expected 'crown', 'alpha' or 'lemmas'")
    slopes = certificate.root_slopes if target.root == "alpha" else certificate.lemma_slopes
    step = chain.activations
    out: dict[int, dict[int, np.ndarray]] = {}
    for act, by in slopes.get(target.region, {}).items():
        for earlier, value in by.items():
            if act not in step or earlier not in step or step[earlier] >= step[act]:
                raise Invalid(f"root slopes of {earlier!r} for {act!r}: not an earlier activation layer of the network")
            i, j = step[act], step[earlier]
            if value.shape != (2 * chain.sizes[i], chain.sizes[j]):
                raise Invalid(f"root slopes of {earlier!r} for {act!r} have shape {value.shape}, expected "
                              f"[{2 * chain.sizes[i]}, {chain.sizes[j]}]")
            out.setdefault(i, {})[j] = np.asarray(value, np.float64)
    return out


def _check_leaves(chain: Chain, target: TargetProof, conjunction: Conjunction, net: NetworkBoxes,
                  nodes: np.ndarray, leaf_row: np.ndarray, params: dict[str, np.ndarray],
                  form: AndersonForm | None = None) -> None:
    """Raise `Invalid` for the first leaf among `nodes` whose bound is not > 0."""
    rows = leaf_row[nodes]
    mine = rows >= 0
    if not mine.any():
        return
    lb = leaf_lower_bounds(chain, conjunction, net.select(mine), {k: v[rows[mine]] for k, v in params.items()}, form)
    failed = np.flatnonzero(~(lb > 0))
    if len(failed):
        leaf = int(nodes[mine][failed[0]])
        raise Invalid(f"region {target.region} disjunct {target.disjunct}: leaf {leaf} has lower bound "
                      f"{lb[failed[0]]:.6g}, not > 0")


def _parameters(target: TargetProof, conjunction: Conjunction, sizes: dict[str, int],
                relus: set[str]) -> dict[str, np.ndarray]:
    """The leaf parameters as float64 with checked shapes: "rows", "alpha:<name>" (any
    activation), "beta:<name>" (ReLU layers: the multipliers of their split constraints)."""
    L, r = target.n_leaves, len(conjunction.d)
    rows = np.broadcast_to(np.eye(r), (L, r, r)) if target.rows is None else np.asarray(target.rows, np.float64)
    if rows.ndim != 3 or rows.shape[0] != L or rows.shape[2] != r:
        raise Invalid(f"row weights have shape {rows.shape}, expected [{L}, k, {r}]")
    identity = np.broadcast_to(np.eye(r)[: rows.shape[1]] if rows.shape[1] <= r else 0.0, rows.shape)
    out = {"rows": np.where(np.isnan(rows), identity, np.maximum(rows, 0.0))}
    for kind, tensors, layers in (("alpha", target.alpha, sizes), ("beta", target.beta, relus)):
        for name, value in tensors.items():
            if name not in layers or value.shape != (L, rows.shape[1], sizes[name]):
                raise Invalid(f"{kind} for {name!r} has shape {value.shape}, expected "
                              f"[{L}, {rows.shape[1]}, {sizes.get(name, '?')}]")
            out[f"{kind}:{name}"] = np.asarray(value, np.float64)
    for kind, tensors in (("pre_lower", target.pre_lower), ("pre_upper", target.pre_upper)):
        for name, value in tensors.items():
            if name not in sizes or value.shape != (L, sizes[name]):
                raise Invalid(f"{kind} for {name!r} has shape {value.shape}, expected [{L}, {sizes.get(name, '?')}]")
            out[f"{kind}:{name}"] = np.asarray(value, np.float64)
    return out


def _anderson_parameters(chain: Chain, target: TargetProof, params: dict[str, np.ndarray]) -> AndersonForm:
    """Add the target's Anderson multipliers to `params` as float64 "anderson_<part>:<relu>"
    with checked shapes ([L, k, size]; mask [L, k, size, K]); returns the chain's Anderson
    form, raising `Invalid` where the network does not have one."""
    where = f"region {target.region} disjunct {target.disjunct}"
    try:
        form = anderson_form(chain)
    except Unsupported as exc:
        raise Invalid(f"{where}: leaves carry Anderson multipliers, but {exc}") from None
    L, k = params["rows"].shape[:2]
    sizes = {layer.name: chain.sizes[layer.relu] for layer in form.layers}
    for name, by in target.anderson.items():
        if name not in sizes:
            raise Invalid(f"{where}: Anderson multipliers for {name!r}, not a ReLU layer of the network")
        for part, value in by.items():
            if part not in ANDERSON_PARTS:
                raise Invalid(f"{where}: Anderson multiplier {part!r} for {name!r}, expected one of {ANDERSON_PARTS}")
            expected = (L, k, sizes[name]) + ((form.widths[name],) if part == "mask" else ())
            if np.shape(value) != expected:
                raise Invalid(f"{where}: Anderson {part} for {name!r} has shape {np.shape(value)}, expected "
                              f"[{', '.join(map(str, expected))}]")
            params[f"anderson_{part}:{name}"] = np.asarray(value, np.float64)
    return form


def _rows(domains: Domains, rows: np.ndarray) -> Domains:
    return Domains(domains.lower[rows], domains.upper[rows], {k: v[rows] for k, v in domains.active.items()},
                   {k: v[rows] for k, v in domains.inactive.items()})


def _key(domains: Domains) -> bytes:
    digest = hashlib.sha256(domains.lower.tobytes() + domains.upper.tobytes())
    for name in sorted(domains.active):
        digest.update(np.packbits(domains.active[name]).tobytes() + np.packbits(domains.inactive[name]).tobytes())
    return digest.digest()
