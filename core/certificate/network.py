"""The checker's own reading of an ONNX network: a chain of exact affine steps and activations
(ReLU, Sigmoid, Tanh).

Independent of `core.model` on purpose: a sceptical user audits this file and
`soundness.py`, not the engine. Each ONNX node becomes one step whose parameters are the
file's constants unchanged (float32 weights widen to float64 exactly), so no rounding
happens here; rounding is accounted for where the bounds are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnx
from onnx import numpy_helper
from scipy import sparse


# A matrix at least this large with at most this share of nonzeros is kept sparse (scipy
# CSR, as convolutions are): tllverifybench's 8192 x 4096 layers hold two nonzeros a row,
# and dense products of their zeros were most of a check's time.
SPARSE_MIN_ENTRIES = 2 ** 16
SPARSE_MAX_DENSITY = 0.01


class Unsupported(ValueError):
    """The network uses something the checker does not read (the message says what)."""


@dataclass(frozen=True)
class Linear:
    """y = W x + b; W [out, in] (an array, or a scipy sparse array for convolutions and
    large, nearly empty matrices), b [out]."""

    W: np.ndarray
    b: np.ndarray

    @cached_property
    def magnitude(self):
        """|W| (exact), computed once: every bound reads it (and nothing else of W's signs,
        so a 4096 x 8192 layer costs one copy more, not three)."""
        return abs(self.W) if sparse.issparse(self.W) else np.abs(self.W)


@dataclass(frozen=True)
class Bias:
    """y = x + b."""

    b: np.ndarray


@dataclass(frozen=True)
class Scale:
    """y = x * s, or y = x / s when `divide` (elementwise, s broadcast to x's size)."""

    s: np.ndarray
    divide: bool = False


@dataclass(frozen=True)
class Permute:
    """y = x[index] (Transpose)."""

    index: np.ndarray


@dataclass(frozen=True)
class Relu:
    """y = max(x, 0); `name` is the ONNX output tensor, the key certificates use."""

    name: str


@dataclass(frozen=True)
class Sigmoid:
    """y = 1 / (1 + exp(-x)), S-shaped (relaxed in `sshaped.py`); `name` is the ONNX output tensor.

    f' peaks at `peak` (x = 0) and equals a in (0, peak] at x = ±`stretch`·atanh(sqrt(1 - a/peak))
    (s(1 - s) = a gives s = (1 ± sqrt(1 - 4a)) / 2, and x = log(s / (1 - s)))."""

    name: str
    peak: ClassVar[float] = 0.25
    stretch: ClassVar[float] = 2.0
    span: ClassVar[tuple[float, float]] = (0.0, 1.0)  # the range of f

    @staticmethod
    def f(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # exp(-x) = inf gives 0, within TINY of the true value
            return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def df(x: np.ndarray) -> np.ndarray:
        return Sigmoid.f(x) * Sigmoid.f(-x)  # s(1 - s) without cancellation


@dataclass(frozen=True)
class Tanh:
    """y = tanh(x), S-shaped like `Sigmoid`: 1 - t^2 = a gives x = ±atanh(sqrt(1 - a))."""

    name: str
    peak: ClassVar[float] = 1.0
    stretch: ClassVar[float] = 1.0
    span: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    @staticmethod
    def f(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    @staticmethod
    def df(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # cosh = inf gives 0, within TINY of the true value
            return 1.0 / np.cosh(x) ** 2  # 1 - t^2 without cancellation


SShaped = Sigmoid | Tanh
Activation = Relu | Sigmoid | Tanh
Step = Linear | Bias | Scale | Permute | Relu | Sigmoid | Tanh


@dataclass(frozen=True)
class Chain:
    """The network as steps over flat vectors; `sizes[i]` is the length of step i's input
    (`sizes[-1]` the output length)."""

    steps: list[Step]
    sizes: list[int]

    @cached_property
    def runs(self) -> dict:
        """Runs of affine steps worth composing for backward passes, by their last step
        (`compose.composed_runs`; computed once per chain)."""
        from core.certificate.compose import composed_runs  # compose builds on this module's steps

        return composed_runs(self.steps)

    @property
    def relus(self) -> dict[str, int]:
        """ReLU name -> position in `steps`."""
        return {s.name: i for i, s in enumerate(self.steps) if isinstance(s, Relu)}

    @property
    def activations(self) -> dict[str, int]:
        """Activation (ReLU, Sigmoid, Tanh) name -> position in `steps`."""
        return {s.name: i for i, s in enumerate(self.steps) if isinstance(s, Activation)}


def read_onnx(source: bytes | str | Path) -> tuple[bytes, onnx.ModelProto]:
    """The decompressed ONNX bytes (path or bytes, plain or gzipped) and the parsed model.

    Reading goes through the loader's `read_bytes` and `parse_model` on purpose: they are
    the one place that inflates gzip with a bound and refuses external data and NaN/inf
    weights. They only decode and refuse; what the checker computes stays in this file.
    Their refusals become a ValueError, which `check` reports as a rejection."""
    from core.model.errors import OnnxError
    from core.model.onnx_graph import parse_model, read_bytes

    try:
        data, label = read_bytes(source if isinstance(source, bytes) else Path(source))
        return data, parse_model(data, label)
    except OnnxError as exc:
        raise ValueError(f"not an ONNX model the checker reads: {'; '.join(exc.problems)}") from None


def chain_of(model: onnx.ModelProto) -> Chain:
    """Read the graph as a chain (each node applied to the previous node's output)."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise Unsupported(f"{len(inputs)} inputs and {len(graph.output)} outputs (the checker reads one of each)")
    dims = [d.dim_value if d.HasField("dim_value") else 1 for d in inputs[0].type.tensor_type.shape.dim]
    current, shape = inputs[0].name, tuple(max(d, 1) for d in dims)
    steps: list[Step] = []
    sizes = [int(np.prod(shape))]
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
            continue
        variable = [x for x in node.input if x and x not in consts]
        if variable != [current]:
            raise Unsupported(f"node {node.name or node.output[0]} ({node.op_type}) does not continue a chain")
        step, shape = _step(node, shape, consts)
        if step is not None:
            steps.append(step)
            sizes.append(int(np.prod(shape)))
        current = node.output[0]
    if graph.output[0].name != current:
        raise Unsupported(f"the output {graph.output[0].name!r} is not the last node's result")
    return Chain(steps, sizes)


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _step(node: onnx.NodeProto, shape: tuple[int, ...], consts: dict[str, np.ndarray]) -> tuple[Step | None, tuple]:
    op = node.op_type
    args = [consts.get(x) for x in node.input]
    if op in _ACTIVATIONS:
        return _ACTIVATIONS[op](node.output[0]), shape
    if op in ("Identity", "Dropout"):
        return None, shape
    if op == "Flatten":
        axis = _attr(node, "axis", 1) % max(len(shape), 1)
        return None, (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))
    if op == "Reshape":
        target = [int(v) for v in args[1]]
        target = [shape[i] if v == 0 else v for i, v in enumerate(target)]
        return None, tuple(np.empty(shape).reshape(target).shape)
    if op == "Transpose":
        perm = _attr(node, "perm", list(range(len(shape)))[::-1])
        index = np.arange(int(np.prod(shape))).reshape(shape).transpose(perm)
        return Permute(index.reshape(-1)), index.shape
    if op in ("Add", "Sub", "Mul", "Div"):
        return _elementwise(op, node, shape, args)
    if op == "MatMul":
        return _matmul(node, shape, args)
    if op == "Gemm":
        return _gemm(node, shape, args)
    if op == "Conv":
        return _conv(node, shape, args)
    raise Unsupported(f"unsupported operator {op}")


_ACTIVATIONS = {"Relu": Relu, "Sigmoid": Sigmoid, "Tanh": Tanh}


def _elementwise(op: str, node, shape: tuple, args: list) -> tuple[Step, tuple]:
    const_first = args[0] is not None
    const = args[0] if const_first else args[1]
    if np.broadcast_shapes(shape, const.shape) != shape:
        raise Unsupported(f"{op} {node.name or node.output[0]} broadcasts its input to a larger shape")
    c = np.broadcast_to(const, shape).reshape(-1).copy()
    if op == "Add":
        return Bias(c), shape
    if op == "Sub":
        if const_first:  # c - x is x * (-1) + c; two steps keep each exact
            raise Unsupported("unsupported operator Sub with the constant first")
        return Bias(-c), shape
    if op == "Mul":
        return Scale(c), shape
    if const_first:
        raise Unsupported("unsupported operator Div with the constant first")
    if np.any(c == 0):
        raise Unsupported(f"Div {node.name or node.output[0]} divides by zero")
    return Scale(c, divide=True), shape


def _matmul(node, shape: tuple, args: list) -> tuple[Step, tuple]:
    if args[0] is not None and args[0].ndim == 2 and len(shape) in (1, 2) and shape[0] == args[0].shape[1]:
        W, trail = args[0], int(np.prod(shape[1:]))  # W @ x: y[i, p] = sum_j W[i, j] x[j, p]
        dense = np.kron(W, np.eye(trail)) if trail > 1 else W
        return Linear(_matrix(dense), np.zeros(dense.shape[0])), (W.shape[0],) + shape[1:]
    W = args[1]
    if args[0] is not None or W is None or W.ndim != 2 or shape[-1] != W.shape[0]:
        raise Unsupported(f"unsupported operator MatMul of this form ({node.name or node.output[0]})")
    lead = int(np.prod(shape[:-1]))
    dense = np.kron(np.eye(lead), W.T) if lead > 1 else W.T
    return Linear(_matrix(dense), np.zeros(dense.shape[0])), shape[:-1] + (W.shape[1],)


def _gemm(node, shape: tuple, args: list) -> tuple[Step, tuple]:
    alpha, beta = _attr(node, "alpha", 1.0), _attr(node, "beta", 1.0)
    if _attr(node, "transA", 0) or alpha != 1.0 or beta != 1.0 or len(shape) != 2 or shape[0] != 1:
        raise Unsupported(f"unsupported operator Gemm with transA/alpha/beta or batch ({node.name or node.output[0]})")
    B = args[1].T if _attr(node, "transB", 0) else args[1]
    b = np.zeros(B.shape[1]) if len(args) < 3 or args[2] is None else np.broadcast_to(args[2], (1, B.shape[1])).reshape(-1)
    return Linear(_matrix(B.T), b.astype(np.float64).copy()), (1, B.shape[1])


def _matrix(W: np.ndarray):
    """W as stored in a `Linear`: sparse where large and nearly empty (`SPARSE_MIN_ENTRIES`,
    `SPARSE_MAX_DENSITY`), the same values either way."""
    if W.size >= SPARSE_MIN_ENTRIES and np.count_nonzero(W) <= SPARSE_MAX_DENSITY * W.size:
        return sparse.csr_array(W)
    return np.ascontiguousarray(W)


def _conv(node, shape: tuple, args: list) -> tuple[Step, tuple]:
    """A 2-D convolution (one image, group 1, explicit pads) as the matrix it is, stored
    sparse (a 4x4 kernel on 3 channels leaves 48 of 3072 entries in a row): entry
    ((m, oy, ox), (c, iy, ix)) is kernel[m, c, ky, kx] where iy = oy*stride - pad + ky*dilation
    (same for x), each position once, so the step stays one exact `Linear` of the file's weights."""
    kernel = args[1]
    if kernel is None or len(shape) != 4 or shape[0] != 1 or kernel.ndim != 4 or _attr(node, "group", 1) != 1 \
            or _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"unsupported operator Conv of this form ({node.name or node.output[0]})")
    M, C, kh, kw = kernel.shape
    _, channels, H, W = shape
    sh, sw = _attr(node, "strides", [1, 1])
    dh, dw = _attr(node, "dilations", [1, 1])
    top, left, bottom, right = _attr(node, "pads", [0, 0, 0, 0])
    OH, OW = (H + top + bottom - dh * (kh - 1) - 1) // sh + 1, (W + left + right - dw * (kw - 1) - 1) // sw + 1
    if channels != C or OH < 1 or OW < 1:
        raise Unsupported(f"Conv {node.name or node.output[0]}: kernel {kernel.shape} does not fit input {shape}")
    oy, ox, ky, kx = (a.reshape(-1) for a in np.meshgrid(np.arange(OH), np.arange(OW), np.arange(kh), np.arange(kw),
                                                         indexing="ij"))
    iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
    inside = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    out_at, in_at = (oy * OW + ox)[inside], (iy * W + ix)[inside]  # positions within a channel
    m, c = np.arange(M)[:, None, None], np.arange(C)[None, :, None]
    rows = np.broadcast_to(m * OH * OW + out_at, (M, C, len(out_at)))
    cols = np.broadcast_to(c * H * W + in_at, (M, C, len(in_at)))
    values = kernel[:, :, ky[inside], kx[inside]].astype(np.float64)
    matrix = sparse.csr_array((values.reshape(-1), (rows.reshape(-1), cols.reshape(-1))), shape=(M * OH * OW, C * H * W))
    bias = np.zeros(M) if len(args) < 3 or args[2] is None else args[2]
    return Linear(matrix, np.repeat(bias, OH * OW)), (1, M, OH, OW)
