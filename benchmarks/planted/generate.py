"""The planted benchmark: sat instances whose only counterexamples lie in a planted bump, and
near-miss decoys (the same bump a little too low) that are unsat.

Every answer is known without certbound's verifier: a planted instance's hidden point is
replayed in onnxruntime (`core.counterexample.confirm`) and must violate the property; a
decoy is proven unsat by the exact MILP (`core.bounds.reference.exact_milp`, HiGHS) over the
whole box. The base network alone is robust on the box by a CROWN bound (its label's output
bias is raised until CROWN proves every other class at least GAMMA below it), so the bump is
the only way in. Sampling SAMPLES points of each box (half uniform, half on faces, as the
attack does) must find no counterexample, or the instance is rejected.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.planted.network import Bump, Family, Layers, base_layers, onnx_model, with_bump

FAMILIES = (
    Family("fc6", (6,), 16, (16, 16, 16)),  # input splitting (at most 16 inputs)
    Family("fc24", (24,), 24, (24, 24, 24)),  # ReLU splitting
    Family("conv8", (1, 8, 8), 4, (24, 16, 16)),  # ReLU splitting through a convolution
)
SIDES = (1e-2, 1e-3, 1e-4, 1e-5)  # the bump's width along one axis, as a fraction of the box
PLANTED_PER_CELL, DECOYS_PER_CELL = 3, 1  # per family and side
EPS = 0.05  # box half-width around the centre, as in image-robustness properties (inputs in [0, 1])
GAMMA = 0.05  # what CROWN must prove of the base network's margin on the box
RHO = 1.0  # planted: the bump overshoots the margin at the hidden point by this fraction of it
DELTA = 0.05  # decoy: the bump falls short of the smallest margin there by this fraction of it
DECOY_TRIES = 4  # DELTA doubles after each decoy the MILP does not prove unsat with room to spare
SAMPLES = 20_000
TIMEOUT_S = 60


@dataclass(frozen=True)
class Spec:
    """One instance to generate: `kind` "planted" (sat) or "decoy" (unsat)."""

    family: Family
    side: float
    index: int
    kind: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.family.name}_side{self.side:.0e}_{self.kind}{self.index}"


@dataclass
class Instance:
    """A generated instance: ONNX bytes, VNN-LIB text, the answer, and what backs it (the hidden
    point [n] for a planted one, the MILP's smallest margin for a decoy)."""

    spec: Spec
    onnx: bytes
    vnnlib: str
    expected: str
    witness: np.ndarray | None
    milp_margin: float | None
    bump: Bump


def specs(seed: int = 0) -> list[Spec]:
    """Every instance of the benchmark, each with its own seed derived from `seed`."""
    out = []
    for f, family in enumerate(FAMILIES):
        for s, side in enumerate(SIDES):
            kinds = ["planted"] * PLANTED_PER_CELL + ["decoy"] * DECOYS_PER_CELL
            for i, kind in enumerate(kinds):
                index = i if kind == "planted" else i - PLANTED_PER_CELL
                out.append(Spec(family, side, index, kind, seed * 100_000 + f * 1000 + s * 100 + i))
    return out


def vnnlib_text(lower: np.ndarray, upper: np.ndarray, label: int, outputs: int, note: str) -> str:
    """Robustness property: some class j != label reaches Y_label (VNN-COMP's form)."""
    lines = [f"; {note}", ""] + [f"(declare-const X_{i} Real)" for i in range(lower.size)]
    lines += [""] + [f"(declare-const Y_{j} Real)" for j in range(outputs)] + [""]
    for i, (lo, hi) in enumerate(zip(lower.tolist(), upper.tolist())):
        lines += [f"(assert (<= X_{i} {hi!r}))", f"(assert (>= X_{i} {lo!r}))"]
    lines += ["", "(assert (or"] + [f"    (and (>= Y_{j} Y_{label}))" for j in range(outputs) if j != label] + ["))", ""]
    return "\n".join(lines)


def margin_rows(label: int, outputs: int) -> np.ndarray:
    """C [outputs - 1, outputs] with rows e_label - e_j: the property is refuted where each is > 0."""
    rows = [np.eye(outputs)[label] - np.eye(outputs)[j] for j in range(outputs) if j != label]
    return np.array(rows)


def _graph(family: Family, layers: Layers):
    from core.model import load_network

    return load_network(onnx_model(family, layers, "planted")).graph


def _crown(graph, lower: np.ndarray, upper: np.ndarray, C: np.ndarray):
    """CROWN's lower bounds [rows] of C y over the box and its intermediate bounds (sound, for the MILP)."""
    from core.bounds import bound
    from core.bounds.domains import Domains

    shape = (1, *graph.input_shape)
    domains = Domains(torch.as_tensor(lower, dtype=torch.float64).reshape(shape),
                      torch.as_tensor(upper, dtype=torch.float64).reshape(shape))
    result = bound(graph, domains, torch.as_tensor(C, dtype=torch.float64)[None], torch.zeros(1, len(C), dtype=torch.float64),
                   "crown")
    return result.lower[0].numpy(), result.intermediate, domains.box


def exact_min(graph, lower: np.ndarray, upper: np.ndarray, C: np.ndarray) -> np.ndarray:
    """The exact minimum [rows] of C y over the box (MILP, with CROWN's boxes as big-M constants)."""
    from core.bounds.reference import exact_milp

    _, intermediate, box = _crown(graph, lower, upper, C)
    return exact_milp(graph, box, intermediate, C, np.zeros(len(C)))


def outputs_at(graph, x: np.ndarray) -> np.ndarray:
    """The network's outputs [N, m] at points x [N, n] (float64)."""
    with torch.no_grad():
        return graph.forward(torch.as_tensor(x, dtype=torch.float64).reshape(len(x), *graph.input_shape)).reshape(len(x), -1).numpy()


def sampled_hits(graph, lower: np.ndarray, upper: np.ndarray, C: np.ndarray, rng: np.random.Generator) -> int:
    """How many of SAMPLES points (half uniform in the box, half on its faces) violate the property."""
    u = rng.uniform(size=(SAMPLES, lower.size))
    face = rng.uniform(size=u.shape) < 0.5
    face[::2] = False
    x = lower + (upper - lower) * np.where(face, (u > 0.5).astype(float), u)
    return int(((outputs_at(graph, x) @ C.T).min(axis=1) <= 0).sum())


def generate(spec: Spec) -> Instance:
    """Build one instance; raises RuntimeError when its guarantee cannot be established."""
    from core.counterexample import confirm
    from core.spec import load_property

    family, rng = spec.family, np.random.default_rng(spec.seed)
    base = base_layers(family, rng)
    centre = rng.uniform(0.2, 0.8, family.n_inputs).astype(np.float32)
    lower = np.maximum(centre - EPS, 0).astype(np.float32).astype(np.float64)
    upper = np.minimum(centre + EPS, 1).astype(np.float32).astype(np.float64)
    k = int(rng.integers(3, 6))
    dims = np.sort(rng.choice(family.bump_candidates(), size=k, replace=False))
    width = upper[dims] - lower[dims]
    point = (lower[dims] + width * rng.uniform(0.1, 0.9, k)).astype(np.float32)
    s_max = float(np.maximum(point - lower[dims], upper[dims] - point).sum())
    bump = Bump(dims, point, 2 / (spec.side * float(width.min())), 0, 0.0)

    graph = _graph(family, with_bump(family, base, bump, s_max))
    label = int(outputs_at(graph, centre[None].astype(np.float64))[0].argmax())
    C = margin_rows(label, family.outputs)
    crown_lb, _, _ = _crown(graph, lower, upper, C)
    w, b = base.gemms[-1]
    b = b.copy()
    b[label] += np.float32(max(0.0, GAMMA - float(crown_lb.min())))
    base = Layers(base.first, base.gemms[:-1] + [(w, b)])
    others = [j for j in range(family.outputs) if j != label]
    bump = replace(bump, target=int(rng.choice(others)))
    row = others.index(bump.target)
    hidden = centre.copy()
    hidden[dims] = point
    graph = _graph(family, with_bump(family, base, bump, s_max))
    if _crown(graph, lower, upper, C)[0].min() < GAMMA * 0.99:
        raise RuntimeError(f"{spec.name}: the base network is not robust on the box by CROWN")

    witness, milp_margin = None, None
    if spec.kind == "planted":
        margin = float(outputs_at(graph, hidden[None].astype(np.float64))[0] @ C[row])
        bump = replace(bump, height=(1 + RHO) * margin)
    else:
        # the base network's smallest margin where the bump can reach (its dims within the bump's
        # support); the bump's own units are left out: at widths near 1e-5 of the box HiGHS
        # finds their nearly empty ranges infeasible
        pinned_lower, pinned_upper = lower.copy(), upper.copy()
        pinned_lower[dims], pinned_upper[dims] = point - 1 / bump.gain, point + 1 / bump.gain
        smallest = float(exact_min(_graph(family, base), pinned_lower, pinned_upper, C[row:row + 1])[0])
        delta = DELTA
        for _ in range(DECOY_TRIES):
            bump = replace(bump, height=smallest * (1 - delta))
            milp_margin = float(exact_min(_graph(family, with_bump(family, base, bump, s_max)), lower, upper, C).min())
            if milp_margin > smallest * delta / 4:
                break
            delta *= 2
        else:
            raise RuntimeError(f"{spec.name}: the MILP does not prove the decoy unsat")
    layers = with_bump(family, base, bump, s_max)
    data = onnx_model(family, layers, spec.name)
    graph = _graph(family, layers)
    note = f"{spec.name}: certbound planted benchmark (benchmarks/planted), expected {'sat' if spec.kind == 'planted' else 'unsat'}"
    text = vnnlib_text(lower, upper, label, family.outputs, note)
    prop = load_property(text.encode())
    if spec.kind == "planted":
        witness = hidden.astype(np.float64)
        found = confirm(data, prop, witness, tol=0.0)
        if not found.ok:
            raise RuntimeError(f"{spec.name}: onnxruntime does not confirm the hidden point: {found.reason}")
    hits = sampled_hits(graph, lower, upper, C, rng)
    if hits:
        raise RuntimeError(f"{spec.name}: sampling finds {hits} counterexamples: the bump is not hidden")
    return Instance(spec, data, text, "sat" if spec.kind == "planted" else "unsat", witness, milp_margin, bump)


FIELDS = ["onnx", "vnnlib", "timeout", "expected", "kind", "family", "side", "bump_dims", "milp_margin"]


def write(instances: list[Instance], folder: Path) -> None:
    """The VNN-COMP layout: onnx/, vnnlib/ (gzip, no timestamps: the same bytes every time),
    instances.csv, expected.csv (with what backs each answer) and witnesses.csv (hidden points)."""
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    (folder / "vnnlib").mkdir(parents=True, exist_ok=True)
    rows, witnesses = [], []
    for inst in instances:
        onnx_path, vnnlib_path = f"onnx/{inst.spec.name}.onnx.gz", f"vnnlib/{inst.spec.name}.vnnlib.gz"
        (folder / onnx_path).write_bytes(gzip.compress(inst.onnx, mtime=0))
        (folder / vnnlib_path).write_bytes(gzip.compress(inst.vnnlib.encode(), mtime=0))
        rows.append({"onnx": onnx_path, "vnnlib": vnnlib_path, "timeout": TIMEOUT_S, "expected": inst.expected,
                     "kind": inst.spec.kind, "family": inst.spec.family.name, "side": f"{inst.spec.side:g}",
                     "bump_dims": len(inst.bump.dims),
                     "milp_margin": "" if inst.milp_margin is None else f"{inst.milp_margin:.6g}"})
        if inst.witness is not None:
            witnesses.append([onnx_path, vnnlib_path, " ".join(repr(float(v)) for v in inst.witness)])
    with open(folder / "instances.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([r["onnx"], r["vnnlib"], r["timeout"]] for r in rows)
    with open(folder / "expected.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with open(folder / "witnesses.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["onnx", "vnnlib", "x"])
        writer.writerows(witnesses)
