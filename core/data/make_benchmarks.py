"""Writes the bundled benchmarks `core/data/benchmarks/{mlp,open}`: small ReLU networks and
properties of certbound's own, whose answers are known without certbound's verifier.

Why generated: the VNN-COMP instances carry no licence, so they may be used for testing but
not shipped. A `sat` answer here rests on a point that onnxruntime evaluates into the unsafe
region; an `unsat` answer on the exact maximum that scipy's MILP solver (HiGHS) proves, the
threshold lying a clear margin above it. `open` instances are set just above the largest
output sampling finds, on a network too wide for any complete search to finish: their
answer is `unknown`, and a job on one runs until it is stopped (unless a far better attack
than the generator's finds a point above the threshold).

    python -m core.data.make_benchmarks [FOLDER]   (default: core/data/benchmarks)

rewrites the files (fixed seeds, gzip without timestamps: the same bytes every time).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from scipy.optimize import Bounds, LinearConstraint, milp

from core.data import BUNDLED_BENCHMARKS

Layers = list[tuple[np.ndarray, np.ndarray]]  # (W [out, in], b [out]) per Gemm, float32


@dataclass(frozen=True)
class Net:
    name: str
    sizes: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class Instance:
    bench: str  # "mlp": decided in seconds; "open": runs until stopped
    net: str
    name: str
    kind: str  # "sat", "unsat" or "open"
    timeout_s: int


NETS = [Net("tiny", (2, 4, 2), 1), Net("relu5", (5, 32, 32, 5), 2), Net("wide", (16, 200, 200, 200, 1), 3)]
INSTANCES = [Instance("mlp", "tiny", "tiny_unsat", "unsat", 60), Instance("mlp", "tiny", "tiny_sat", "sat", 60),
             Instance("mlp", "relu5", "relu5_unsat", "unsat", 60), Instance("mlp", "relu5", "relu5_sat", "sat", 60),
             Instance("open", "wide", "wide_open", "open", 600)]
BOX = 1.0  # every input in [-BOX, BOX]
MARGIN = 0.1  # thresholds sit this fraction of the output's range away from the deciding value


def layers_of(net: Net) -> Layers:
    rng = np.random.default_rng(net.seed)
    return [((rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32),
             (rng.standard_normal(n_out) * 0.1).astype(np.float32)) for n_in, n_out in zip(net.sizes, net.sizes[1:])]


def onnx_bytes(net: Net, layers: Layers) -> bytes:
    nodes, weights, current = [], [], "X"
    for i, (w, b) in enumerate(layers):
        weights += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        last = i == len(layers) - 1
        out = "Y" if last else f"Z{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"B{i}"], [out], transB=1))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"A{i}"]))
            current = f"A{i}"
    graph = helper.make_graph(nodes, net.name, [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1, net.sizes[0]])],
                              [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [1, net.sizes[-1]])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="certbound")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def forward(layers: Layers, x: np.ndarray) -> np.ndarray:
    """Outputs [N, out] of inputs [N, in], in float64."""
    for i, (w, b) in enumerate(layers):
        x = x @ w.T.astype(np.float64) + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def interval_bounds(layers: Layers, lower: np.ndarray, upper: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds of every layer by interval arithmetic (the MILP's big-M constants)."""
    found = []
    for i, (w, b) in enumerate(layers):
        w = w.astype(np.float64)
        centre, radius = (upper + lower) / 2, (upper - lower) / 2
        mid, spread = w @ centre + b, np.abs(w) @ radius
        found.append((mid - spread, mid + spread))
        lower, upper = np.maximum(mid - spread, 0.0), np.maximum(mid + spread, 0.0)
    return found


def exact_max(layers: Layers, output: int) -> float:
    """An upper bound on output `output` over the input box that HiGHS proves, with no gap left:
    the exact maximum, up to the solver's tolerances (which the margins dwarf)."""
    n_in = layers[0][0].shape[1]
    bounds = interval_bounds(layers, np.full(n_in, -BOX), np.full(n_in, BOX))
    hidden = [w.shape[0] for w, _ in layers[:-1]]
    n_vars = n_in + 2 * sum(hidden)
    lo, hi, integral, rows, row_lo, row_hi = [-BOX] * n_in, [BOX] * n_in, [0] * n_in, [], [], []
    previous, offset = list(range(n_in)), n_in
    for (w, b), (l, u) in zip(layers[:-1], bounds):
        n = w.shape[0]
        post, gate = range(offset, offset + n), range(offset + n, offset + 2 * n)
        lo += [0.0] * n + [0.0] * n
        hi += list(np.maximum(u, 0.0)) + [1.0] * n
        integral += [0] * n + [1] * n
        for j in range(n):
            pre = np.zeros(n_vars)
            pre[previous] = w[j]
            above = pre.copy()  # post - pre >= b
            above[post[j]] -= 1.0
            rows.append(-above), row_lo.append(b[j]), row_hi.append(np.inf)
            below = -above.copy()  # post - pre - l*gate <= b - l
            below[gate[j]] = -l[j]
            rows.append(below), row_lo.append(-np.inf), row_hi.append(b[j] - l[j])
            cap = np.zeros(n_vars)  # post - u*gate <= 0
            cap[post[j]], cap[gate[j]] = 1.0, -max(u[j], 0.0)
            rows.append(cap), row_lo.append(-np.inf), row_hi.append(0.0)
        previous, offset = list(post), offset + 2 * n
    w, b = layers[-1]
    objective = np.zeros(n_vars)
    objective[previous] = -w[output].astype(np.float64)
    result = milp(objective, constraints=LinearConstraint(np.array(rows), row_lo, row_hi), integrality=integral,
                  bounds=Bounds(lo, hi), options={"mip_rel_gap": 0.0, "time_limit": 600})
    if not result.success:
        raise RuntimeError(f"MILP did not finish: {result.message}")
    return float(-result.mip_dual_bound + b[output])


def vnnlib(n_in: int, n_out: int, threshold: float, note: str) -> bytes:
    lines = [f"; {note}", ""] + [f"(declare-const X_{i} Real)" for i in range(n_in)]
    lines += [""] + [f"(declare-const Y_{i} Real)" for i in range(n_out)] + [""]
    for i in range(n_in):
        lines += [f"(assert (<= X_{i} {BOX!r}))", f"(assert (>= X_{i} {-BOX!r}))"]
    lines += ["", "; unsafe:", f"(assert (>= Y_0 {threshold!r}))", ""]
    return "\n".join(lines).encode()


def threshold_of(net: Net, layers: Layers, session: ort.InferenceSession, kind: str) -> tuple[float, str]:
    """The unsafe threshold on Y_0 for an instance of this kind, and the reason its answer is known."""
    rng = np.random.default_rng(net.seed + 100)
    x = rng.uniform(-BOX, BOX, (20000, net.sizes[0])).astype(np.float32)
    y = forward(layers, x.astype(np.float64))[:, 0]
    top, spread = float(y.max()), float(y.max() - y.min())
    if kind == "sat":
        witness = x[int(y.argmax())][None]
        reached = float(session.run(None, {"X": witness})[0][0, 0])
        threshold = float(np.float32(top - MARGIN * spread))
        assert reached >= threshold, (reached, threshold)
        return threshold, f"sat: onnxruntime gives Y_0 = {reached!r} at X = {witness[0].tolist()}"
    if kind == "unsat":
        best = exact_max(layers, 0)
        threshold = float(np.float32(best + MARGIN * spread))
        return threshold, f"unsat: the exact maximum of Y_0 over the box is {best!r} (MILP, HiGHS)"
    corners = np.array(list(itertools.product((-BOX, BOX), repeat=net.sizes[0])))
    starts = np.concatenate([corners[np.argsort(forward(layers, corners)[:, 0])[-200:]], x[np.argsort(y)[-200:]]])
    top = max(top, ascend(layers, starts.astype(np.float64)))
    threshold = float(np.float32(top + 1e-3 * spread))
    return threshold, (f"open: just above the largest Y_0 that sampling and gradient ascent from the best "
                       f"samples and box corners find ({top!r})")


def ascend(layers: Layers, x: np.ndarray, steps: int = 300, step: float = 0.01) -> float:
    """The largest Y_0 that signed-gradient ascent from the rows of `x` reaches within the box."""
    best = -np.inf
    for _ in range(steps):
        activations, h = [], x
        for w, b in layers[:-1]:
            h = h @ w.T.astype(np.float64) + b
            activations.append(h > 0)
            h = np.maximum(h, 0.0)
        best = max(best, float((h @ layers[-1][0].T.astype(np.float64) + layers[-1][1])[:, 0].max()))
        grad = np.broadcast_to(layers[-1][0][0].astype(np.float64), h.shape)
        for (w, _), active in zip(reversed(layers[:-1]), reversed(activations)):
            grad = (grad * active) @ w.astype(np.float64)
        x = np.clip(x + step * np.sign(grad), -BOX, BOX)
    return best


def write(root: Path) -> None:
    """Write every benchmark folder (networks, properties, the two CSV files) under `root`."""
    nets = {}
    for net in NETS:
        layers = layers_of(net)
        data = onnx_bytes(net, layers)
        nets[net.name] = (net, layers, data, ort.InferenceSession(data, providers=["CPUExecutionProvider"]))
    rows: dict[str, list[tuple]] = {}
    for instance in INSTANCES:
        folder = root / instance.bench
        (folder / "onnx").mkdir(parents=True, exist_ok=True)
        (folder / "vnnlib").mkdir(parents=True, exist_ok=True)
        net, layers, data, session = nets[instance.net]
        (folder / "onnx" / f"{net.name}.onnx.gz").write_bytes(gzip.compress(data, mtime=0))
        threshold, note = threshold_of(net, layers, session, instance.kind)
        text = vnnlib(net.sizes[0], net.sizes[-1], threshold, f"{instance.name} (core/data/make_benchmarks.py), {note}")
        (folder / "vnnlib" / f"{instance.name}.vnnlib.gz").write_bytes(gzip.compress(text, mtime=0))
        expected = "unknown" if instance.kind == "open" else instance.kind
        rows.setdefault(instance.bench, []).append(
            (f"onnx/{net.name}.onnx.gz", f"vnnlib/{instance.name}.vnnlib.gz", instance.timeout_s, expected))
    for bench, found in rows.items():
        with open(root / bench / "instances.csv", "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(row[:3] for row in found)
        with open(root / bench / "expected.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["onnx", "vnnlib", "timeout", "expected"])
            writer.writerows(found)


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED_BENCHMARKS)
