"""Counterexample replay: does the ORIGINAL ONNX network, run by onnxruntime, really
violate the property at x? Plus the VNN-COMP result file (`sat` + `((X_0 v) ... (Y_0 v))`).

Torch-free on purpose: the check must not share code with the engine that found x.
The input box is checked with an absolute tolerance, as VNN-COMP does (1e-4); the
output must satisfy an unsafe disjunct exactly, so a confirmed `sat` never rests on
a tolerance.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from core.model.onnx_graph import parse_model, read_bytes
from core.result import Verdict
from core.spec import Property
from core.spec.errors import SpecSyntaxError
from core.spec.sexpr import Atom, SList, read_forms

SESSION_CACHE_SIZE = 8
_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}
_OLD_NAMES = {"holds": Verdict.UNSAT, "violated": Verdict.SAT}


@dataclass(frozen=True)
class Confirmation:
    """The replay's answer. `y` is onnxruntime's output, flattened, float64; `region` and
    `disjunct` say which unsafe case x hits (None when `ok` is False); `reason` says why."""

    ok: bool
    y: np.ndarray
    region: int | None
    disjunct: int | None
    reason: str


def confirm(onnx_bytes: bytes, prop: Property, x: np.ndarray, tol: float = 1e-4) -> Confirmation:
    """Run the network on x (reshaped to its declared input shape, in its input dtype) and
    check that x lies in some region's box within `tol` and the output is in that region's
    unsafe set. Sizes that do not fit the network or property raise ValueError."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != prop.n_inputs:
        raise ValueError(f"x has {x.size} values but the property has {prop.n_inputs} inputs")
    y = run_network(onnx_bytes, x)
    if y.size != prop.n_outputs:
        raise ValueError(f"the network gives {y.size} outputs but the property has {prop.n_outputs}")
    if not np.all(np.isfinite(x)):
        return Confirmation(False, y, None, None, "x has non-finite values")
    inside = [r for r, region in enumerate(prop.regions) if region.box.contains(x, tol)]
    if not inside:
        return Confirmation(False, y, None, None, _outside_reason(prop, x, tol))
    for r in inside:
        for k, conjunction in enumerate(prop.regions[r].unsafe):
            if conjunction.holds(y):
                return Confirmation(True, y, r, k, f"x is in box {r} and the output meets unsafe case {k}")
    return Confirmation(False, y, None, None, _safe_reason(prop, inside, y))


def run_network(onnx_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for flattened input x: all outputs flattened, concatenated, float64."""
    session = _session(onnx_bytes)
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(f"the network has {len(inputs)} inputs; replay supports exactly one")
    declared = inputs[0]
    dtype = _DTYPES.get(declared.type)
    if dtype is None:
        raise ValueError(f"input {declared.name!r} has type {declared.type}; replay supports float inputs")
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in declared.shape]  # symbolic dims -> 1
    if math.prod(shape) != x.size:
        raise ValueError(f"x has {x.size} values but input {declared.name!r} has shape {shape}")
    outputs = session.run(None, {declared.name: x.reshape(shape).astype(dtype)})
    return np.concatenate([np.asarray(out, dtype=np.float64).reshape(-1) for out in outputs])


_sessions: OrderedDict[str, ort.InferenceSession] = OrderedDict()
_sessions_lock = threading.Lock()


def _session(onnx_bytes: bytes) -> ort.InferenceSession:
    """One InferenceSession per network (by sha256), the least recently used dropped first."""
    key = hashlib.sha256(onnx_bytes).hexdigest()
    with _sessions_lock:
        if key in _sessions:
            _sessions.move_to_end(key)
            return _sessions[key]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one replay must not take every core from the verifier
    options.inter_op_num_threads = 1
    try:
        model, label = read_bytes(onnx_bytes)
        parse_model(model, label)  # onnxruntime only ever sees bytes without external data
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types; report them as one
        raise ValueError(f"onnxruntime cannot load the network: {error}") from None
    with _sessions_lock:
        _sessions[key] = session
        while len(_sessions) > SESSION_CACHE_SIZE:
            _sessions.popitem(last=False)
    return session


def _outside_reason(prop: Property, x: np.ndarray, tol: float) -> str:
    excess = [np.maximum(r.box.lower - x, x - r.box.upper) for r in prop.regions]
    r = int(np.argmin([e.max() for e in excess]))
    i = int(np.argmax(excess[r]))
    return (f"x is outside every input box: X_{i} = {x[i]!r} is {excess[r][i]:.3g} outside box {r} "
            f"[{prop.regions[r].box.lower[i]!r}, {prop.regions[r].box.upper[i]!r}] (tolerance {tol:g})")


def _safe_reason(prop: Property, regions: list[int], y: np.ndarray) -> str:
    """Name the unsafe case the output came closest to, and by how much it misses it."""
    best = None
    for r in regions:
        for k, c in enumerate(prop.regions[r].unsafe):
            miss = float(np.max(c.C @ y - c.d))
            if best is None or miss < best[0]:
                best = (miss, r, k)
    miss, r, k = best
    return f"the output is safe: closest is unsafe case {k} of box {r}, missed by {miss:.6g}"


def write_result(path: str | Path, verdict: Verdict | str, x: np.ndarray | None = None,
                 y: np.ndarray | None = None) -> None:
    """Write a VNN-COMP result file (`result_text`)."""
    Path(path).write_text(result_text(verdict, x, y))


def result_text(verdict: Verdict | str, x: np.ndarray | None = None, y: np.ndarray | None = None) -> str:
    """A VNN-COMP result file's text: the verdict line, then for `sat` the witness
    `((X_0 v)\\n (X_1 v)\\n ... (Y_0 v) ...)`, floats in shortest round-trip form."""
    verdict = Verdict(verdict)
    lines = [verdict.value]
    if verdict is Verdict.SAT:
        if x is None or y is None:
            raise ValueError("a sat result needs the counterexample x and its output y")
        values = [("X", v) for v in np.asarray(x, np.float64).reshape(-1).tolist()]
        values += [("Y", v) for v in np.asarray(y, np.float64).reshape(-1).tolist()]
        if not all(math.isfinite(v) for _, v in values):
            raise ValueError("counterexample values must be finite")
        counters = {"X": 0, "Y": 0}
        entries = []
        for side, value in values:
            entries.append(f"({side}_{counters[side]} {value!r})")
            counters[side] += 1
        lines.append("(" + "\n ".join(entries) + ")")
    return "\n".join(lines) + "\n"


def read_result(path: str | Path) -> tuple[Verdict, np.ndarray | None, np.ndarray | None]:
    """(verdict, x, y) from a VNN-COMP result file; x and y are None unless the verdict is sat.
    The 2021 words `holds` / `violated` are read as unsat / sat."""
    text = Path(path).read_text()
    first, _, rest = text.lstrip().partition("\n")
    word = first.strip()
    verdict = _OLD_NAMES.get(word)
    if verdict is None:
        try:
            verdict = Verdict(word)
        except ValueError:
            raise ValueError(f"{path}: unknown result {word!r} on the first line") from None
    if verdict is not Verdict.SAT:
        return verdict, None, None
    try:
        forms = list(read_forms(rest))
    except SpecSyntaxError as error:
        raise ValueError(f"{path}: {error.located(rest)}") from None
    if len(forms) != 1:
        raise ValueError(f"{path}: expected one ((X_0 v) ... (Y_0 v)) list after 'sat', found {len(forms)}")
    return verdict, *_witness(forms[0], path)


def _witness(form: SList, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    values: dict[str, list[float]] = {"X": [], "Y": []}
    for entry in form.items:
        if not (isinstance(entry, SList) and len(entry.items) == 2 and all(isinstance(a, Atom) for a in entry.items)):
            raise ValueError(f"{path}: expected (NAME VALUE) pairs such as (X_0 0.5)")
        name, value = entry.items[0].text, entry.items[1].text
        side = name[:1]
        if side not in values or name != f"{side}_{len(values[side])}":
            raise ValueError(f"{path}: unexpected {name!r}: expected X_i then Y_j, numbered in order")
        try:
            values[side].append(float(value))
        except ValueError:
            raise ValueError(f"{path}: bad number {value!r} for {name}") from None
    if not values["X"] or not values["Y"]:
        raise ValueError(f"{path}: a sat witness needs both X_ and Y_ values")
    return np.array(values["X"]), np.array(values["Y"])
