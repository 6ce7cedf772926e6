"""`CertificateBuilder`: what the verifier calls as branch and bound proceeds.

    builder = CertificateBuilder(network.sha256, property_digest(prop), relu_layers(graph))
    target = builder.target(region, disjunct)      # node 0 is the region's box
    left, right = target.split(0, ("relu", "relu_1", 17))   # or ("input", dim, cut)
    target.close(left, alpha={"relu_1": a}, beta={"relu_1": b})   # a, b [k, *shape]
    ...
    certificate = builder.finish()

A `core.bab.tree.ProofTree` can be handed over whole with `target.add_tree(tree.parent,
tree.branch, tree.split)`; leaves are then closed by node id. Arrays may be NumPy or CPU
torch tensors; they are copied. NumPy only, so the worker can use it without the engine.
"""

from __future__ import annotations

import numpy as np

from core.certificate.format import ANDERSON_PARTS, INPUT_SPLIT, RECOMPUTE, RELU_SPLIT, Certificate, LemmaProof, TargetProof


def _array(value) -> np.ndarray:
    """float32 where that holds every value exactly (the verifier's α/β steps keep theirs
    float32-representable), else float64: half the bytes, and nothing the checker reads
    changes."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.array(value)
    if array.dtype == np.float32:
        return array
    array = array.astype(np.float64)
    with np.errstate(over="ignore"):  # beyond float32's range: the comparison keeps float64
        narrow = array.astype(np.float32)
    return narrow if np.array_equal(narrow.astype(np.float64), array, equal_nan=True) else array


class TargetBuilder:
    """The proof tree of one (region, disjunct), node 0 the whole box."""

    def __init__(self, region: int, disjunct: int, relu_layers: list[str]) -> None:
        self.region, self.disjunct = region, disjunct
        self.intermediate = RECOMPUTE  # or INHERIT: nodes take their parent's bounds (ReLU splitting)
        self.root = "crown"  # or "alpha": the root's CROWN passes use the region's root slopes
        self._layer = {name: i for i, name in enumerate(relu_layers)}
        self.parent, self.side = [-1], [0]
        self.splits: list[tuple[int, int, int, int, float]] = []
        self.leaves: dict[int, tuple[dict, dict, np.ndarray | None, dict, dict]] = {}

    def split(self, node: int, what: tuple) -> tuple[int, int]:
        """Split `node` on ("input", dim, cut) (children x[dim] <= cut, >= cut) or ("relu",
        layer name, flat index) (children inactive, active); returns the two children's ids."""
        kind, first, second = what
        if kind == "input":
            self.splits.append((node, INPUT_SPLIT, int(first), -1, float(second)))
        elif kind == "relu":
            if first not in self._layer:
                raise ValueError(f"ReLU split names {first!r}, not one of the network's ReLU layers")
            self.splits.append((node, RELU_SPLIT, int(second), self._layer[first], float("nan")))
        else:
            raise ValueError(f"split kind {kind!r}: expected 'input' or 'relu'")
        left = len(self.parent)
        self.parent += [node, node]
        self.side += [0, 1]
        return left, left + 1

    def add_tree(self, parent: list[int], branch: list[int], splits: dict[int, tuple]) -> None:
        """Take over a whole tree in `core.bab.tree.ProofTree`'s columns (node ids kept)."""
        if len(self.parent) != 1:
            raise ValueError("add_tree needs a target with no splits yet")
        self.parent, self.side = [int(p) for p in parent], [int(b) for b in branch]
        for node, what in sorted(splits.items()):
            kind, first, second = what
            layer = self._layer.get(first, -2) if kind == "relu" else -1
            if layer == -2:
                raise ValueError(f"ReLU split names {first!r}, not one of the network's ReLU layers")
            self.splits.append((int(node), RELU_SPLIT if kind == "relu" else INPUT_SPLIT,
                                int(second if kind == "relu" else first), layer,
                                float("nan") if kind == "relu" else float(second)))

    def close(self, node: int, alpha: dict | None = None, beta: dict | None = None, rows=None,
              pre: dict | None = None, anderson: dict | None = None) -> None:
        """Close leaf `node`. `alpha[name]` / `beta[name]` [k, *shape]: the final bound's lower
        slopes (tangent points for Sigmoid/Tanh) per activation layer and split multipliers
        per ReLU layer (absent: the defaults, β = 0);
        `rows` [k, r]: weights combining the disjunct's r constraints (absent: each row alone);
        `pre[name]` = (lower, upper) [*shape]: the pre-activation bounds the bound used;
        `anderson[name]` = {"alpha", "beta0", "beta1", "cut": [k, *shape], "mask": [k, *shape, K]}:
        Anderson-relaxation multipliers per ReLU layer (any part absent: NaN, counted as 0)."""
        flat = lambda d: {k: _array(v).reshape(_array(v).shape[0], -1) for k, v in (d or {}).items()}  # noqa: E731
        bounds = {k: np.stack([_array(lo).reshape(-1), _array(hi).reshape(-1)]) for k, (lo, hi) in (pre or {}).items()}
        cuts = {}
        for name, by in (anderson or {}).items():
            unknown = set(by) - set(ANDERSON_PARTS)
            if unknown:
                raise ValueError(f"Anderson multipliers of {name!r} name {sorted(unknown)}, expected {ANDERSON_PARTS}")
            cuts[name] = {part: _array(v).reshape(_array(v).shape[0], -1, _array(v).shape[-1]) if part == "mask"
                          else _array(v).reshape(_array(v).shape[0], -1) for part, v in by.items()}
        self.leaves[int(node)] = (flat(alpha), flat(beta), None if rows is None else _array(rows), bounds, cuts)

    def proof(self) -> TargetProof:
        order = sorted(self.leaves)
        ks = {v.shape[0] for a, b, _, _, _ in self.leaves.values() for v in (*a.values(), *b.values())}
        ks |= {rows.shape[0] for _, _, rows, _, _ in self.leaves.values() if rows is not None}
        ks |= {v.shape[0] for leaf in self.leaves.values() for by in leaf[4].values() for v in by.values()}
        k = max(ks, default=0)  # leaves with fewer combinations get NaN ones: the defaults
        splits = np.array([s[:4] for s in self.splits], dtype=np.int64).reshape(-1, 4)
        proof = TargetProof(
            self.region, self.disjunct, np.array(self.parent, np.int32), np.array(self.side, np.int8),
            splits[:, 0].astype(np.int32), splits[:, 1].astype(np.int8), splits[:, 2],
            splits[:, 3].astype(np.int16), np.array([s[4] for s in self.splits], np.float64),
            np.array(order, np.int32), intermediate=self.intermediate, root=self.root)
        for slot, store in ((0, proof.alpha), (1, proof.beta)):
            for name in sorted({n for leaf in self.leaves.values() for n in leaf[slot]}):
                store[name] = _stack([self.leaves[i][slot].get(name) for i in order], k)
        if any(leaf[2] is not None for leaf in self.leaves.values()):
            proof.rows = _stack([self.leaves[i][2] for i in order], k)
        for name in sorted({n for leaf in self.leaves.values() for n in leaf[3]}):
            both = _stack([self.leaves[i][3].get(name) for i in order])
            proof.pre_lower[name], proof.pre_upper[name] = both[:, 0], both[:, 1]
        for name in sorted({n for leaf in self.leaves.values() for n in leaf[4]}):
            parts = sorted({p for leaf in self.leaves.values() for p in leaf[4].get(name, {})})
            proof.anderson[name] = {part: _stack([self.leaves[i][4].get(name, {}).get(part) for i in order], k)
                                    for part in parts}
        return proof


def _stack(parts: list[np.ndarray | None], k: int | None = None) -> np.ndarray:
    """Stack per-leaf arrays, padded to `k` combinations (axis 0) with NaN, the checker's
    default; leaves without one get NaN throughout."""
    like = next(p for p in parts if p is not None)
    dtype = np.result_type(*[p.dtype for p in parts if p is not None])
    shape = like.shape if k is None else (k,) + like.shape[1:]
    out = np.full((len(parts),) + shape, np.nan, dtype)
    for i, p in enumerate(parts):
        if p is not None:
            out[i, : len(p)] = p
    return out


class CertificateBuilder:
    """Collects one `TargetBuilder` per (region, disjunct) and assembles the `Certificate`."""

    def __init__(self, network_sha256: str, property_sha256: str, relu_layers: list[str],
                 producer: dict | None = None) -> None:
        self.network_sha256, self.property_sha256 = network_sha256, property_sha256
        self.relu_layers = list(relu_layers)
        self.producer = producer or {}
        self.targets: list[TargetBuilder] = []
        self.slopes_by_root: dict[str, dict[int, dict[str, dict[str, np.ndarray]]]] = {"alpha": {}, "lemmas": {}}
        self.lemmas: list[tuple[str, int, int, float, TargetBuilder]] = []

    def set_root_slopes(self, region: int, slopes: dict, root: str = "alpha") -> None:
        """`slopes[relu][earlier]` [2 n, m]: the region's root slopes for targets whose `root` is
        "alpha" (`Certificate.root_slopes`) or "lemmas" (`Certificate.lemma_slopes`)."""
        self.slopes_by_root[root][int(region)] = {relu: {earlier: _array(v) for earlier, v in by.items()}
                                               for relu, by in slopes.items()}

    def target(self, region: int, disjunct: int) -> TargetBuilder:
        target = TargetBuilder(region, disjunct, self.relu_layers)
        self.targets.append(target)
        return target

    def lemma(self, region: int, layer: str, neuron: int, side: int, threshold: float) -> TargetBuilder:
        """The proof tree of the lemma `side * z[neuron] >= threshold` on the input of activation
        `layer` at region `region`'s root (`Certificate.lemmas`): closed like a target's, its
        leaves bounding `side * z[neuron] - threshold` on the network cut at that input."""
        proof = TargetBuilder(region, 0, self.relu_layers)
        proof.root = "lemmas"
        self.lemmas.append((str(layer), int(neuron), int(side), float(threshold), proof))
        return proof

    def finish(self) -> Certificate:
        trees = self.targets + [t for *_, t in self.lemmas]

        def used(root: str) -> dict:
            regions = {t.region for t in trees if t.root == root}
            return {r: v for r, v in self.slopes_by_root[root].items() if r in regions}

        return Certificate(self.network_sha256, self.property_sha256, self.relu_layers,
                           [t.proof() for t in self.targets], dict(self.producer), root_slopes=used("alpha"),
                           lemmas=[LemmaProof(layer, neuron, side, threshold, t.proof())
                                   for layer, neuron, side, threshold, t in self.lemmas],
                           lemma_slopes=used("lemmas"))


def certificate_from_proofs(network_sha256: str, property_sha256: str, relu_layers: list[str],
                            proofs: list[dict], producer: dict | None = None,
                            root_slopes: dict | None = None, lemmas: dict | None = None,
                            lemma_slopes: dict | None = None) -> Certificate:
    """A certificate from the verifier's proof records (`VerifyResult.certificate["targets"]`):
    each has "region", "disjunct" and, when branch and bound closed it, "tree" (a
    `ProofTree.to_dict()`); otherwise the root was closed by a bound. A leaf's (or a
    root-closed record's) "evidence" holds `TargetBuilder.close`'s keyword arguments;
    without it the leaf gets default parameters. A record's "root" ("crown" or "alpha")
    says whether its root used the region's `root_slopes[region]` (`set_root_slopes`).
    `lemmas[region]`: the region's lemma records (`core.verifier.lemmas.Lemma.record`:
    layer, neuron, side, threshold and a search tree whose root is "lemmas"), and
    `lemma_slopes[region]` the slopes of the root passes that derived them (the root of
    records whose `root` is "lemmas")."""
    builder = CertificateBuilder(network_sha256, property_sha256, relu_layers, producer)
    for root, given in (("alpha", root_slopes), ("lemmas", lemma_slopes)):
        for region, slopes in (given or {}).items():
            builder.set_root_slopes(region, slopes, root)
    for proof in proofs:
        target = builder.target(int(proof["region"]), int(proof["disjunct"]))
        target.root = str(proof.get("root", "crown"))
        if proof.get("tree") is None:
            target.close(0, **proof.get("evidence", {}))
        else:
            _add_tree(target, proof["tree"])
    for region, records in (lemmas or {}).items():
        for record in records:
            target = builder.lemma(int(region), record["layer"], record["neuron"], record["side"], record["threshold"])
            _add_tree(target, record["tree"])
    return builder.finish()


def _add_tree(target: TargetBuilder, tree: dict) -> None:
    """A search tree (`ProofTree.to_dict()`) into `target`, its leaves closed with their evidence."""
    target.add_tree(tree["parent"], tree["branch"], {int(k): tuple(v) for k, v in tree["splits"].items()})
    target.intermediate = tree.get("intermediate", RECOMPUTE)
    for leaf in tree["leaves"]:
        target.close(int(leaf["node"]), **leaf.get("evidence", {}))
