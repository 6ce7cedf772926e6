"""The certificate file: what a proof of `unsat` is made of, and how it is stored.

A certificate is one zip file holding `manifest.json` (what is proved, the tree sizes,
the ReLU layer names) and `tensors.npz` (every array: tree columns, split records and the
leaves' relaxation parameters). docs/certificate.md is the reference; this module is
NumPy only, so the checker and the service can read certificates without torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.spec.property import Property

FORMAT = "certbound-certificate"
VERSION = 3  # version 3 adds lemmas (and, later, optional Anderson leaf multipliers); a version 2 file is a version 3 file without them
READS = (1, 2, 3)  # version 1: intermediate bounds by CROWN on every neuron, never inherited
INPUT_SPLIT, RELU_SPLIT = 0, 1
ANDERSON_PARTS = ("alpha", "beta0", "beta1", "cut", "mask")  # a leaf's Anderson multipliers, per ReLU layer
# How a node below the root gets its pre-activation bounds (docs/certificate.md):
RECOMPUTE = "crown"    # interval ∩ CROWN on the node's own domain ∩ its parent's bounds, then its split
INHERIT = "inherit"    # its parent's bounds, then its split (what ReLU splitting does)
WITHIN = "crown-within"  # interval ∩ its parent's bounds, CROWN on what that leaves unstable, then its split


@dataclass
class TargetProof:
    """The proof that one disjunct of one region is unreachable: a split tree and its leaves.

    Tree: node 0 is the region's box; `parent[i]` (< i) and `side[i]` (0 or 1) place node i.
    Splits, one row per split node: `split_node`, `split_kind` (INPUT_SPLIT: side 0 keeps
    x[index] <= cut, side 1 x[index] >= cut; RELU_SPLIT: side 0 keeps the pre-activation of
    neuron `index` (flat) of ReLU layer `split_layer` <= 0, side 1 >= 0), `split_index`,
    `split_layer` (-1 for input splits) and `split_cut` (NaN for ReLU splits).
    Leaves, one row per leaf: `leaf_node` and optional parameters per activation layer name:
    `alpha[name]` [L, k, size] lower slopes (ReLU) or tangent points (Sigmoid, Tanh) and
    `beta[name]` [L, k, size] split multipliers (ReLU) of the final bound, `rows` [L, k, r]
    nonnegative weights combining the disjunct's r constraints into k bounds (NaN entries
    mean the defaults: adaptive slope or tangent point, β = 0, rows = identity).
    `pre_lower[name]` / `pre_upper[name]` [L, size]: the pre-activation bounds the
    verifier used at the leaf (optional; NaN = none): the checker bounds with the hull of
    these and its own proven bounds, which is sound whatever they say.
    `anderson[name][part]`: Anderson-relaxation multipliers of ReLU layer `name` (optional; NaN =
    not given): part "alpha", "beta0", "beta1", "cut" (B) [L, k, size] and "mask" (P)
    [L, k, size, K], K the most nonzeros in a row of the Linear feeding the layer; the
    checker takes the better of the CROWN bound and the Lagrangian they give (anderson.py).
    `intermediate`: RECOMPUTE, WITHIN or INHERIT, how nodes below the root get their bounds.
    `root`: "crown" (CROWN's adaptive slopes at the root), "alpha" (the root's CROWN
    passes use the region's `Certificate.root_slopes`) or "lemmas" (they use the region's
    `Certificate.lemma_slopes`, and the boxes are narrowed by the region's lemmas).
    """

    region: int
    disjunct: int
    parent: np.ndarray
    side: np.ndarray
    split_node: np.ndarray
    split_kind: np.ndarray
    split_index: np.ndarray
    split_layer: np.ndarray
    split_cut: np.ndarray
    leaf_node: np.ndarray
    alpha: dict[str, np.ndarray] = field(default_factory=dict)
    beta: dict[str, np.ndarray] = field(default_factory=dict)
    rows: np.ndarray | None = None
    pre_lower: dict[str, np.ndarray] = field(default_factory=dict)
    pre_upper: dict[str, np.ndarray] = field(default_factory=dict)
    anderson: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    intermediate: str = RECOMPUTE
    root: str = "crown"

    @property
    def n_nodes(self) -> int:
        return int(len(self.parent))

    @property
    def n_leaves(self) -> int:
        return int(len(self.leaf_node))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {name: getattr(self, name) for name in _TREE_ARRAYS}
        out.update({f"alpha/{k}": v for k, v in self.alpha.items()})
        out.update({f"beta/{k}": v for k, v in self.beta.items()})
        out.update({f"pre_lower/{k}": v for k, v in self.pre_lower.items()})
        out.update({f"pre_upper/{k}": v for k, v in self.pre_upper.items()})
        out.update({f"anderson_{part}/{name}": v for name, by in self.anderson.items() for part, v in by.items()})
        if self.rows is not None:
            out["rows"] = self.rows
        return out


_TREE_ARRAYS = ("parent", "side", "split_node", "split_kind", "split_index", "split_layer", "split_cut", "leaf_node")


@dataclass
class LemmaProof:
    """`side * z[neuron] >= threshold` on the input z of activation layer `layer` (ONNX output
    tensor) at the root of region `proof.region`, for every input of the region's box.

    `side` is +1 (a lower bound on z[neuron]) or -1 (an upper bound, -threshold). `proof`
    refutes `side * z[neuron] <= threshold` on the network cut at that input, as a target
    refutes a disjunct: a split tree over the region's box (ReLU splits on earlier layers
    only) whose leaves' bounds of `side * z[neuron] - threshold` are all positive
    (`proof.disjunct` is 0 and unused). The root boxes of the region's `root = "alpha"`
    targets are narrowed by the region's lemmas before later layers are derived from them.
    """

    layer: str
    neuron: int
    side: int
    threshold: float
    proof: TargetProof


@dataclass
class Certificate:
    """A proof that no input of the property's boxes reaches its unsafe set through the network.

    `network_sha256`: digest of the decompressed ONNX bytes; `property_sha256`: see
    `property_digest`; `relu_layers`: the ReLU layers by ONNX output tensor name (what
    `split_layer` indexes); `targets`: one proof per (region, disjunct) of the property;
    `version`: the format version it was read as (it fixes how intermediate bounds are derived);
    `root_slopes[region][act][earlier]` [2 n, m]: per region, the parameters of activation
    layer `earlier` (m neurons; ReLU: lower slopes, Sigmoid/Tanh: tangent points) on the
    CROWN pass that bounds activation layer `act`'s input (n neurons) at the root, row
    j < n for neuron j's lower bound and n + j for its upper bound (NaN: the default);
    targets with `root = "alpha"` use them. In the file they are indexed by position in
    `slope_layers` (the ReLU layers, then any other activation layer they name).
    `lemmas`: proven bounds on single neurons of the root (`LemmaProof`), which narrow the boxes
    of the `root = "lemmas"` targets of their region; `lemma_slopes`, like `root_slopes`, the
    slopes of those targets' root passes (the verifier derives their boxes again, with the
    lemmas, after a first search without them).
    """

    network_sha256: str
    property_sha256: str
    relu_layers: list[str]
    targets: list[TargetProof]
    producer: dict = field(default_factory=dict)
    version: int = VERSION
    root_slopes: dict[int, dict[str, dict[str, np.ndarray]]] = field(default_factory=dict)
    lemmas: list[LemmaProof] = field(default_factory=list)
    lemma_slopes: dict[int, dict[str, dict[str, np.ndarray]]] = field(default_factory=dict)

    def save(self, path: str | Path) -> int:
        """Write the certificate to `path`; returns its size in bytes."""
        data = self.to_bytes()
        Path(path).write_bytes(data)
        return len(data)

    def to_bytes(self) -> bytes:
        arrays = {}
        targets = [_entry(target, f"t{i}/", arrays) for i, target in enumerate(self.targets)]
        lemmas = [{"layer": lemma.layer, "neuron": lemma.neuron, "side": lemma.side, "threshold": lemma.threshold,
                   **_entry(lemma.proof, f"l{i}/", arrays)} for i, lemma in enumerate(self.lemmas)]
        named = {name for slopes in (self.root_slopes, self.lemma_slopes)
                 for per in slopes.values() for act, by in per.items() for name in (act, *by)}
        slope_layers = self.relu_layers + sorted(named - set(self.relu_layers))  # + Sigmoid/Tanh layers
        root_slopes = _slopes_out(self.root_slopes, slope_layers, "slopes", arrays)
        manifest = {"format": FORMAT, "version": self.version, "network_sha256": self.network_sha256,
                    "property_sha256": self.property_sha256, "relu_layers": self.relu_layers,
                    "targets": targets, "producer": self.producer, "root_slopes": root_slopes,
                    "slope_layers": slope_layers}
        if lemmas:
            manifest["lemmas"] = lemmas
            manifest["lemma_slopes"] = _slopes_out(self.lemma_slopes, slope_layers, "lemma_slopes", arrays)
        tensors = io.BytesIO()
        np.savez_compressed(tensors, **arrays)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
            archive.writestr("tensors.npz", tensors.getvalue())
        return out.getvalue()

    @staticmethod
    def load(source: str | Path | bytes) -> "Certificate":
        """Read a certificate from a path or bytes; raises ValueError naming what is malformed."""
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                manifest = json.loads(archive.read("manifest.json"))
                tensors = np.load(io.BytesIO(archive.read("tensors.npz")), allow_pickle=False)
                arrays = {k: tensors[k] for k in tensors.files}
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError, ValueError) as exc:
            raise ValueError(f"not a certbound certificate (zip with manifest.json and tensors.npz): {exc}") from None
        if manifest.get("format") != FORMAT or manifest.get("version") not in READS:
            raise ValueError(f"certificate format {manifest.get('format')!r} version {manifest.get('version')!r}; "
                             f"this checker reads {FORMAT!r} versions {', '.join(map(str, READS))}")
        try:
            targets = [_target_from(f"t{i}/", entry, arrays) for i, entry in enumerate(manifest["targets"])]
            lemmas = [LemmaProof(str(entry["layer"]), int(entry["neuron"]), int(entry["side"]),
                                 float(entry["threshold"]), _target_from(f"l{i}/", entry, arrays))
                      for i, entry in enumerate(manifest.get("lemmas", []))]
            layers = [str(n) for n in manifest["relu_layers"]]
            slope_layers = [str(n) for n in manifest.get("slope_layers", layers)]
            root_slopes = _slopes_in(manifest.get("root_slopes", {}), slope_layers, "slopes", arrays)
            lemma_slopes = _slopes_in(manifest.get("lemma_slopes", {}), slope_layers, "lemma_slopes", arrays)
            return Certificate(str(manifest["network_sha256"]), str(manifest["property_sha256"]), layers, targets,
                               dict(manifest.get("producer", {})), int(manifest["version"]), root_slopes, lemmas,
                               lemma_slopes)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"certificate manifest or tensors incomplete: missing {exc}") from None


def _slopes_out(slopes: dict[int, dict[str, dict[str, np.ndarray]]], slope_layers: list[str], kind: str,
               arrays: dict[str, np.ndarray]) -> dict[str, list[list[int]]]:
    """Per region the [i, j] pairs of `slope_layers` indices; the arrays go into `arrays` as
    `r{region}/{kind}/{i}/{j}`."""
    layer = {name: i for i, name in enumerate(slope_layers)}
    out = {}
    for region, per in sorted(slopes.items()):
        pairs = sorted((layer[act], layer[earlier]) for act, by in per.items() for earlier in by)
        out[str(region)] = [list(pair) for pair in pairs]
        arrays.update({f"r{region}/{kind}/{i}/{j}": per[slope_layers[i]][slope_layers[j]] for i, j in pairs})
    return out


def _slopes_in(pairs_of: dict, slope_layers: list[str], kind: str,
               arrays: dict[str, np.ndarray]) -> dict[int, dict[str, dict[str, np.ndarray]]]:
    """`_slopes_out` read back."""
    out: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    for region, pairs in pairs_of.items():
        per = out.setdefault(int(region), {})
        for i, j in pairs:
            name = f"r{int(region)}/{kind}/{int(i)}/{int(j)}"
            per.setdefault(slope_layers[int(i)], {})[slope_layers[int(j)]] = arrays[name]
    return out


def _entry(target: TargetProof, prefix: str, arrays: dict[str, np.ndarray]) -> dict:
    """A proof's manifest entry; its arrays go into `arrays` under `prefix`."""
    arrays.update({prefix + k: v for k, v in target.arrays().items()})
    entry = {"region": target.region, "disjunct": target.disjunct, "nodes": target.n_nodes, "leaves": target.n_leaves,
             "alpha": sorted(target.alpha), "beta": sorted(target.beta), "pre": sorted(target.pre_lower),
             "rows": target.rows is not None, "intermediate": target.intermediate, "root": target.root}
    if target.anderson:  # written only when given, so files without them stay as they were
        entry["anderson"] = {name: sorted(by) for name, by in sorted(target.anderson.items())}
    return entry


def _target_from(prefix: str, entry: dict, arrays: dict[str, np.ndarray]) -> TargetProof:
    tree = {name: arrays[prefix + name] for name in _TREE_ARRAYS}
    alpha = {name: arrays[f"{prefix}alpha/{name}"] for name in entry["alpha"]}
    beta = {name: arrays[f"{prefix}beta/{name}"] for name in entry["beta"]}
    rows = arrays[prefix + "rows"] if entry["rows"] else None
    pre = entry.get("pre", [])
    anderson = {str(name): {str(part): arrays[f"{prefix}anderson_{part}/{name}"] for part in parts}
                for name, parts in entry.get("anderson", {}).items()}  # absent before Anderson leaves
    return TargetProof(int(entry["region"]), int(entry["disjunct"]), alpha=alpha, beta=beta, rows=rows,
                       anderson=anderson,
                       intermediate=str(entry.get("intermediate", RECOMPUTE)), root=str(entry.get("root", "crown")),
                       pre_lower={name: arrays[f"{prefix}pre_lower/{name}"] for name in pre},
                       pre_upper={name: arrays[f"{prefix}pre_upper/{name}"] for name in pre}, **tree)


def network_digest(onnx_bytes: bytes) -> str:
    """sha256 of the decompressed ONNX bytes (the same digest `core.model.load_network` reports)."""
    return hashlib.sha256(onnx_bytes).hexdigest()


def property_digest(prop: Property) -> str:
    """sha256 of the property's meaning: sizes, then per region its box and each disjunct's C and d,
    as little-endian float64 (so two files that parse to the same property share a digest)."""
    digest = hashlib.sha256(f"{FORMAT}/property:{prop.n_inputs}:{prop.n_outputs}:{len(prop.regions)}".encode())
    for region in prop.regions:
        digest.update(f"region:{len(region.unsafe)}".encode())
        _update(digest, region.box.lower, region.box.upper)
        for conjunction in region.unsafe:
            digest.update(f"disjunct:{len(conjunction.d)}".encode())
            _update(digest, conjunction.C, conjunction.d)
    return digest.hexdigest()


def _update(digest, *arrays: np.ndarray) -> None:
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
