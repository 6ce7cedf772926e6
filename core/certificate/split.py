"""A certificate's check split by subtree across processes (`certbound check --workers N`).

Each target's tree is cut at the shallowest depth with at least `CUTS_PER_PART` nodes
per part; the subtrees below the cut go to parts by size (largest first, to the part
with the least so far), and so do the lemmas' proofs after them (`plan_of`). Part k
(`check(..., part=(k, plan))`) checks every tree's shape and coverage whole, the bounds
of the nodes above the cut and of its own subtrees, and its own lemmas' proofs (taking
the other lemmas as stated: their parts check them). Every leaf is thus checked by
exactly one part, and the certificate is valid when every part is; the checker's
reasoning is unchanged.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from core.certificate.check import CheckResult, check
from core.certificate.format import Certificate, TargetProof
from core.spec.property import Property

CUTS_PER_PART = 8
# Below this many tree nodes per part a split check is not worth it: each part costs about
# 6 s more than its share of the whole (a sub-job's start, the certificate read, the root's
# and the top levels' bounds that every part re-derives), and a node about 0.65 ms on ACAS
# Xu and mnist_fc alike. mnist_fc 256x4 prop_0 eps 0.05, 5,300 nodes: 3.3 s whole, 7.5 s in
# two parts; ACAS Xu 4_2 prop_2, 77,000 nodes: 53 s whole, 33 s in two on a loaded machine, but
# 8.8 s and 10.3 s on a quiet, faster one (docs/results/distributed.md).
MIN_NODES_PER_PART = 8192
# ... or this many lemmas per part: a lemma's proof costs far more than an ACAS Xu node
# (eran 9x200 idx 225: 88 lemmas, 3.7 s of a 4.2 s check, whatever their few nodes)
MIN_LEMMAS_PER_PART = 16
# A node's bounds go back through every layer, so on a network with more weights than this a
# node counts as weights / WEIGHTS_PER_NODE nodes above: tllverifybench N=64 (67 M weights,
# sparse) costs 45 ms a node, against 0.65 ms on ACAS Xu (13 k) and mnist_fc 256x4 (0.4 M)
WEIGHTS_PER_NODE = 1_000_000
_shared: tuple | None = None  # what forked parts read: (network, property, certificate, plan, limit)


def labels_of(target: TargetProof, parts: int) -> np.ndarray:
    """Per node [nodes]: the part whose subtree holds it, or -1 above the cut."""
    parent = np.asarray(target.parent, np.int64)
    n = len(parent)
    depth = np.zeros(n, np.int64)
    for node in range(1, n):
        depth[node] = depth[parent[node]] + 1
    is_split = np.zeros(n, bool)
    is_split[np.asarray(target.split_node, np.int64)] = True
    counts = np.bincount(depth)
    deep = np.flatnonzero(counts >= CUTS_PER_PART * parts)
    cut_depth = int(deep[0]) if len(deep) else int(depth.max())
    # the cut: the nodes at its depth, and the leaves above it
    cut = np.flatnonzero((depth == cut_depth) | ((depth < cut_depth) & ~is_split))
    owner = np.full(n, -1)
    owner[cut] = np.arange(len(cut))
    for node in range(1, n):
        if owner[node] < 0 and depth[node] > cut_depth:
            owner[node] = owner[parent[node]]
    part_of_cut = _deal_by_size(np.bincount(owner[owner >= 0], minlength=len(cut)), np.zeros(parts))
    return np.where(owner >= 0, part_of_cut[np.maximum(owner, 0)], -1)


def _deal_by_size(sizes: np.ndarray, load: np.ndarray) -> np.ndarray:
    """The part of each item [items], largest first, each to the part with the least
    `load` [parts] so far (which it updates)."""
    part = np.zeros(len(sizes), np.int64)
    for k in np.argsort(-sizes, kind="stable"):
        part[k] = int(np.argmin(load))
        load[part[k]] += sizes[k]
    return part


class Plan(NamedTuple):
    """Who checks what: per target [nodes] the part whose subtree holds each node (-1 above
    the cut, `labels_of`), and per lemma the part that checks its proof."""

    targets: list[np.ndarray]
    lemmas: np.ndarray


def plan_of(certificate: Certificate, parts: int) -> Plan:
    """The targets' subtrees as `labels_of` deals them, then the lemmas' proofs, largest
    first, each to the part with the fewest nodes so far."""
    targets = [labels_of(t, parts) for t in certificate.targets]
    load = np.zeros(parts)
    for labels in targets:
        load += np.bincount(labels[labels >= 0], minlength=parts)
    sizes = np.array([lemma.proof.n_nodes for lemma in certificate.lemmas], np.int64)
    return Plan(targets, _deal_by_size(sizes, load))


def weights_of(network: bytes | str | Path) -> int:
    """The network's weights: the elements of its initializers of two dimensions or more
    (0 for a model the checker cannot read; its check then says why)."""
    from core.certificate.network import read_onnx

    try:
        model = read_onnx(network)[1]
    except (ValueError, OSError):
        return 0
    return sum(math.prod(t.dims) for t in model.graph.initializer if len(t.dims) >= 2)


def worth_splitting(certificate: Certificate, parts: int, min_nodes_per_part: int | None = None,
                    weights: int = 0) -> bool:
    """Whether the certificate's trees (`MIN_NODES_PER_PART` nodes a part unless given; on
    a network of `weights` over `WEIGHTS_PER_NODE`, a node counts as their ratio) or its
    lemmas (`MIN_LEMMAS_PER_PART`) are enough for a check in `parts` parts."""
    least = MIN_NODES_PER_PART if min_nodes_per_part is None else min_nodes_per_part
    nodes = sum(t.n_nodes for t in certificate.targets) + sum(lemma.proof.n_nodes for lemma in certificate.lemmas)
    nodes *= max(1.0, weights / WEIGHTS_PER_NODE)
    return parts > 1 and (nodes >= least * parts or len(certificate.lemmas) >= MIN_LEMMAS_PER_PART * parts)


def _part(k: int) -> CheckResult:
    network, prop, certificate, plan, limit = _shared
    return check(network, prop, certificate, limit, part=(k, plan))


def check_split(network: bytes | str | Path, prop: Property | bytes | str | Path,
                certificate: Certificate | bytes | str | Path, workers: int,
                time_limit_s: float | None = None, min_nodes_per_part: int | None = None) -> CheckResult:
    """`check` in `workers` processes, one part each (see the module), or in this one for
    trees under `min_nodes_per_part` nodes per part; the first invalid part's reason, the
    wall time of all, every part's leaves."""
    global _shared
    started = time.monotonic()
    if workers <= 1:
        return check(network, prop, certificate, time_limit_s)
    try:
        if not isinstance(certificate, Certificate):
            certificate = Certificate.load(certificate)
        if not isinstance(network, bytes):
            network = Path(network).read_bytes()
        if not isinstance(prop, Property):
            from core.spec import load_property

            prop = load_property(prop)
    except (ValueError, OSError, EOFError, KeyError) as exc:
        return CheckResult(False, str(exc), time.monotonic() - started)
    if not worth_splitting(certificate, workers, min_nodes_per_part, weights_of(network)):
        return check(network, prop, certificate, time_limit_s)
    _shared = (network, prop, certificate, plan_of(certificate, workers), time_limit_s)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_part, range(workers)))
    finally:
        _shared = None
    wall = time.monotonic() - started
    leaves = sum(r.leaves for r in results)
    for result in results:
        if not result.valid:
            return CheckResult(False, result.reason, wall, leaves, result.stopped)
    return CheckResult(True, "", wall, leaves)
