"""Coverage: a target's leaves together cover its whole input box.

Every node is either split (then it has exactly two children, sides 0 and 1) or a leaf
(then the certificate closes it). Both kinds of split cover their parent: x_j <= c or
x_j >= c; z <= 0 or z >= 0. By induction from the root, the leaves cover the box, so
refuting every leaf refutes the box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.certificate.format import INPUT_SPLIT, RELU_SPLIT, TargetProof


class Invalid(Exception):
    """The certificate does not prove what it claims; the message is the first reason."""


@dataclass
class Domains:
    """Per row (a tree node): its input box `lower`/`upper` [B, n] and per ReLU layer which
    pre-activations its path forces >= 0 (`active`) or <= 0 (`inactive`), [B, size] bool."""

    lower: np.ndarray
    upper: np.ndarray
    active: dict[str, np.ndarray]
    inactive: dict[str, np.ndarray]


def node_domains(target: TargetProof, lower: np.ndarray, upper: np.ndarray, relu_layers: list[str],
                 relu_sizes: dict[str, int]) -> Domains:
    """Check the tree's shape and derive every node's domain (row i: node i); raises `Invalid`.
    `relu_sizes`: the ReLU layers the proof may split (a lemma's: those before its layer)."""
    n_nodes = target.n_nodes
    parent = np.asarray(target.parent, dtype=np.int64)
    side = np.asarray(target.side, dtype=np.int64)
    if n_nodes == 0 or parent.shape != (n_nodes,) or side.shape != (n_nodes,) or parent[0] != -1:
        raise Invalid("tree has no root (node 0 must have parent -1)")
    ids = np.arange(n_nodes)
    if np.any(parent[1:] < 0) or np.any(parent[1:] >= ids[1:]):
        raise Invalid("tree is malformed: every node but the root needs a parent with a smaller id")
    integral = ("parent", "side", "split_node", "split_kind", "split_index", "split_layer", "leaf_node")
    wrong = [name for name in integral if not np.issubdtype(np.asarray(getattr(target, name)).dtype, np.integer)]
    if wrong:
        raise Invalid(f"tree column {wrong[0]} does not hold integers")
    columns = [np.asarray(getattr(target, name)) for name in ("split_node", "split_kind", "split_index",
                                                              "split_layer", "split_cut")]
    if any(c.ndim != 1 or len(c) != len(columns[0]) for c in columns):
        raise Invalid("split records are not five columns of one length")
    split_node = np.asarray(target.split_node, dtype=np.int64)
    if len(np.unique(split_node)) != len(split_node) or np.any((split_node < 0) | (split_node >= n_nodes)):
        raise Invalid("split records name a node twice or a node outside the tree")
    is_split = np.zeros(n_nodes, dtype=bool)
    is_split[split_node] = True
    children = np.zeros((n_nodes, 2), dtype=np.int64)
    if np.any((side[1:] != 0) & (side[1:] != 1)):
        raise Invalid("tree has a child whose side is neither 0 nor 1")
    np.add.at(children, (parent[1:], side[1:]), 1)
    for node in range(n_nodes):
        if is_split[node] and tuple(children[node]) != (1, 1):
            raise Invalid(f"split node {node} does not have exactly one child on each side")
        if not is_split[node] and children[node].any():
            raise Invalid(f"node {node} has children but no split")
    leaves = np.asarray(target.leaf_node, dtype=np.int64)
    expected = np.flatnonzero(~is_split)
    if len(leaves) != len(expected) or np.any(np.sort(leaves) != expected):
        missing = sorted(set(expected.tolist()) - set(leaves.tolist()))
        detail = f"leaf {missing[0]} is not closed" if missing else "leaf records name split nodes or repeat"
        raise Invalid(f"leaves do not match the tree: {detail}")
    return _domains(target, parent, side, lower, upper, relu_layers, relu_sizes)


def _domains(target: TargetProof, parent, side, lower, upper, relu_layers, relu_sizes) -> Domains:
    """Each node's domain from its parent's, in id order (parents come first)."""
    n_nodes = len(parent)
    lo = np.repeat(lower[None, :], n_nodes, axis=0)
    hi = np.repeat(upper[None, :], n_nodes, axis=0)
    kinds = np.asarray(target.split_kind)
    split_layers = {int(k) for k in np.asarray(target.split_layer)[kinds == RELU_SPLIT]}
    # rows are copied only for layers some split touches; the rest stay all False
    tracked = [name for i, name in enumerate(relu_layers) if i in split_layers and name in relu_sizes]
    active = {name: np.zeros((n_nodes if name in tracked else 1, relu_sizes[name]), dtype=bool)
              for name in relu_layers if name in relu_sizes}
    inactive = {name: np.zeros_like(v) for name, v in active.items()}
    split_of = {int(node): row for row, node in enumerate(target.split_node)}
    for node in range(1, n_nodes):
        p = int(parent[node])
        lo[node], hi[node] = lo[p], hi[p]
        for name in tracked:
            active[name][node], inactive[name][node] = active[name][p], inactive[name][p]
        row = split_of[p]
        kind, index = int(target.split_kind[row]), int(target.split_index[row])
        if kind == INPUT_SPLIT:
            cut = float(target.split_cut[row])
            if not np.isfinite(cut) or not 0 <= index < len(lower):
                raise Invalid(f"input split at node {p} has dimension {index} or cut {cut} out of range")
            if side[node] == 0:
                hi[node, index] = min(hi[node, index], cut)
            else:
                lo[node, index] = max(lo[node, index], cut)
        elif kind == RELU_SPLIT:
            layer = int(target.split_layer[row])
            if not 0 <= layer < len(relu_layers) or not 0 <= index < relu_sizes.get(relu_layers[layer], 0):
                raise Invalid(f"ReLU split at node {p} names layer {layer} neuron {index}, not in the network")
            (inactive if side[node] == 0 else active)[relu_layers[layer]][node, index] = True
        else:
            raise Invalid(f"split at node {p} has unknown kind {kind}")
    full = lambda v: v if len(v) == n_nodes else np.repeat(v, n_nodes, axis=0)  # noqa: E731
    return Domains(lo, hi, {k: full(v) for k, v in active.items()}, {k: full(v) for k, v in inactive.items()})
