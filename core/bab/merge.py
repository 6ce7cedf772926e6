"""Join the proof forests of a distributed search into one proof tree of the whole target.

A distributed search (core.verifier.parallel) hands frontier domains from one holder (a
job) to another. The giver keeps them as open leaves of its tree; the taker adds each as
a root of its forest, remembering where it came from (`origins`: local id -> (holder,
id)). Merging maps every holder's nodes to one numbering in which parents come before
children (what the checker requires): a forest root is the node it came from, any other
node gets the next id once its parent has one. A node split or closed in two forests, or
a root whose origin no forest holds, is an error: the domain was searched twice or lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.bab.tree import ProofTree


class MergeError(Exception):
    """The forests do not join into one tree (a bug in the hand-over, never a proof)."""


@dataclass
class Forest:
    """One holder's tree over one target: `origins` maps its roots to (holder, id); the
    root without an origin is the target's own root (exactly one holder has it)."""

    holder: str
    tree: ProofTree
    origins: dict[int, tuple[str, int]]


def merge(forests: list[Forest]) -> ProofTree:
    """One tree whose nodes are every forest's, each split and leaf kept (see the module)."""
    if not forests:
        raise MergeError("no forest to merge")
    kind = forests[0].tree.kind
    out = ProofTree(kind, parent=[], branch=[], intermediate=forests[0].tree.intermediate)
    ids: dict[tuple[str, int], int] = {}
    done = [0] * len(forests)
    progress = True
    while progress:
        progress = False
        for k, forest in enumerate(forests):
            parent, branch = forest.tree.parent, forest.tree.branch
            while done[k] < len(parent):
                node = done[k]
                if parent[node] >= 0:
                    ids[forest.holder, node] = len(out.parent)
                    out.parent.append(ids[forest.holder, parent[node]])
                    out.branch.append(branch[node])
                elif node in forest.origins:
                    if forest.origins[node] not in ids:
                        break  # its giver's node is not numbered yet
                    ids[forest.holder, node] = ids[forest.origins[node]]
                else:
                    if out.parent:
                        raise MergeError(f"{forest.holder}: a second root of the target (node {node})")
                    ids[forest.holder, node] = out.add_root()
                done[k] += 1
                progress = True
    stuck = [f"{f.holder} node {done[k]}" for k, f in enumerate(forests) if done[k] < len(f.tree.parent)]
    if stuck:
        raise MergeError(f"domains whose origin no forest holds: {', '.join(stuck[:3])}")
    for forest in forests:
        _copy_marks(forest, ids, out)
    return out


def _copy_marks(forest: Forest, ids: dict[tuple[str, int], int], out: ProofTree) -> None:
    """Copy a forest's splits and closed leaves (with their evidence) under merged ids."""
    for node, what in forest.tree.split.items():
        at = ids[forest.holder, node]
        if at in out.split or at in out.closed:
            raise MergeError(f"node {at} ({forest.holder} {node}) split twice")
        out.split[at] = what
    for node, closed in forest.tree.closed.items():
        at = ids[forest.holder, node]
        if at in out.split or at in out.closed:
            raise MergeError(f"node {at} ({forest.holder} {node}) closed twice, or split and closed")
        out.closed[at] = closed
        if node in forest.tree.evidence:
            out.evidence[at] = forest.tree.evidence[node]


def open_leaves(tree: ProofTree) -> list[int]:
    """Nodes neither split nor closed: a merged tree with any does not cover its box."""
    return [n for n in range(len(tree.parent)) if n not in tree.split and n not in tree.closed]
