"""ReLU networks with a planted bump: a random base network plus a few units that raise
one output by `height` only inside a tiny L1 ball around a hidden point.

The bump is h(x) = 1 - min(k·S(x), 1), S(x) = Σ_i |x_i - p_i| over a few input
coordinates i, so h is 1 at p and 0 once S >= 1/k: along one axis the bump is 2/k wide.
Outside it no gradient reaches the bump (its last unit is saturated), so PGD from the box
cannot sense it, and sampling hits it with probability about (width / box)^dims / dims!.

Layers: first layer (Gemm, or Conv 3x3 stride 2 pad 1) computes the base's first layer and
u± = relu(±(x_i - p_i)); then three Gemm layers each carry the base and one stage
r_j = a_j - c_j, a_j = relu(g_j r_{j-1}), c_j = relu(g_j r_{j-1} - 1) = min(g_j r_{j-1}, 1);
the output adds height·(1 - r_3) to the target class. Three stages of gain g = (k·S_max)^(1/3)
instead of one of gain k keep every pre-activation range small (at most g), so that the
exact MILP's big-M constants stay well conditioned (one stage at side 1e-5 would need 1e6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STAGES = 3  # Gemm layers after the first, each carrying one stage of the bump
KERNEL, STRIDE, PAD = 3, 2, 1  # the convolutional first layer


@dataclass(frozen=True)
class Family:
    """A network shape. `input_shape`: (n,) for a fully connected first layer, (1, H, W) for a
    convolutional one; `first`: its width (units or channels); `hidden`: the base widths of
    the STAGES Gemm layers after it; `outputs`: classes."""

    name: str
    input_shape: tuple[int, ...]
    first: int
    hidden: tuple[int, ...]
    outputs: int = 5

    @property
    def conv(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.input_shape))

    def bump_candidates(self) -> np.ndarray:
        """Input indices a bump may use: for a convolution, the pixels a stride-2 window centres on."""
        if not self.conv:
            return np.arange(self.n_inputs)
        _, rows, cols = self.input_shape
        return np.array([r * cols + c for r in range(0, rows, STRIDE) for c in range(0, cols, STRIDE)])


@dataclass(frozen=True)
class Bump:
    """Where the bump sits: input indices `dims` [k], centre `centre` [k] (float32 values),
    `gain` k (its width along one axis is 2/k), output `target` and `height`."""

    dims: np.ndarray
    centre: np.ndarray
    gain: float
    target: int
    height: float


@dataclass
class Layers:
    """Float32 parameters: `first` (W [out, in] or kernel [C, 1, 3, 3]) and its bias, then one
    (W [out, in], b [out]) per Gemm layer, the last one the output layer."""

    first: tuple[np.ndarray, np.ndarray]
    gemms: list[tuple[np.ndarray, np.ndarray]]


def base_layers(family: Family, rng: np.random.Generator) -> Layers:
    """The base network, He-initialised (std sqrt(2 / fan-in)), biases 0.1·N(0, 1)."""
    if family.conv:
        fan_in = family.input_shape[0] * KERNEL * KERNEL
        first = (rng.standard_normal((family.first, family.input_shape[0], KERNEL, KERNEL)) * np.sqrt(2 / fan_in),
                 rng.standard_normal(family.first) * 0.1)
        width = family.first * _positions(family)
    else:
        first = (rng.standard_normal((family.first, family.n_inputs)) * np.sqrt(2 / family.n_inputs),
                 rng.standard_normal(family.first) * 0.1)
        width = family.first
    gemms = []
    for n_out in (*family.hidden, family.outputs):
        gemms.append((rng.standard_normal((n_out, width)) * np.sqrt(2 / width), rng.standard_normal(n_out) * 0.1))
        width = n_out
    f32 = lambda pair: tuple(a.astype(np.float32) for a in pair)  # noqa: E731
    return Layers(f32(first), [f32(g) for g in gemms])


def _positions(family: Family) -> int:
    _, rows, cols = family.input_shape
    return ((rows + 2 * PAD - KERNEL) // STRIDE + 1) * ((cols + 2 * PAD - KERNEL) // STRIDE + 1)


def stage_gains(gain: float, s_max: float) -> list[float]:
    """Gains of the three stages: product `gain`, every stage's pre-activation within [0, g]."""
    g = (gain * s_max) ** (1 / STAGES)
    return [g / s_max] + [g] * (STAGES - 1)


def with_bump(family: Family, base: Layers, bump: Bump, s_max: float) -> Layers:
    """The base network with `bump` planted: extra units in every layer (the base's unchanged);
    `s_max` is the largest S over the input box (it sets the stage gains)."""
    k = len(bump.dims)
    w1, b1 = base.first
    if family.conv:
        kernel = np.zeros((2 * k, *w1.shape[1:]), np.float32)
        kernel[0::2, 0, PAD, PAD], kernel[1::2, 0, PAD, PAD] = 1.0, -1.0
        first = (np.concatenate([w1, kernel]), np.concatenate([b1, _pm(-bump.centre)]))
        positions = _positions(family)
        cols = family.input_shape[2]
        pos = [(d // cols // STRIDE) * ((cols + 2 * PAD - KERNEL) // STRIDE + 1) + (d % cols) // STRIDE
               for d in bump.dims]
        bump_columns = [(w1.shape[0] + c) * positions + pos[c // 2] for c in range(2 * k)]
        width = (w1.shape[0] + 2 * k) * positions
    else:
        rows = np.zeros((2 * k, family.n_inputs), np.float32)
        rows[np.arange(0, 2 * k, 2), bump.dims], rows[np.arange(1, 2 * k, 2), bump.dims] = 1.0, -1.0
        first = (np.concatenate([w1, rows]), np.concatenate([b1, _pm(-bump.centre)]))
        bump_columns = list(range(w1.shape[0], w1.shape[0] + 2 * k))
        width = w1.shape[0] + 2 * k
    gemms, sources = [], {c: 1.0 for c in bump_columns}  # columns feeding the next stage, and their signs
    for gain, (w, b) in zip(stage_gains(bump.gain, s_max), base.gemms[:-1]):
        grown = np.zeros((w.shape[0] + 2, width), np.float32)
        grown[:w.shape[0], :w.shape[1]] = w  # the base's inputs come first (a conv's base channels too)
        for column, sign in sources.items():
            grown[w.shape[0]:, column] = sign * gain
        gemms.append((grown, np.concatenate([b, np.array([0.0, -1.0], np.float32)])))
        width = w.shape[0] + 2
        sources = {width - 2: 1.0, width - 1: -1.0}  # r = a - c
    w, b = base.gemms[-1]
    out = np.zeros((w.shape[0], width), np.float32)
    out[:, :w.shape[1]] = w
    out[bump.target, width - 2], out[bump.target, width - 1] = -bump.height, bump.height
    bias = b.copy()
    bias[bump.target] += np.float32(bump.height)
    return Layers(first, gemms + [(out, bias)])


def _pm(values: np.ndarray) -> np.ndarray:
    """[v0, -v0, v1, -v1, ...]: the biases of the u+ / u- pairs."""
    return np.stack([values, -values], axis=1).reshape(-1).astype(np.float32)


def onnx_model(family: Family, layers: Layers, name: str) -> bytes:
    """ONNX bytes (opset 13): input "X" [1, *input_shape], output "Y" [1, outputs]."""
    w1, b1 = layers.first
    inits = [numpy_helper.from_array(w1, "W0"), numpy_helper.from_array(b1, "B0")]
    if family.conv:
        nodes = [helper.make_node("Conv", ["X", "W0", "B0"], ["Z0"], kernel_shape=[KERNEL, KERNEL],
                                  strides=[STRIDE, STRIDE], pads=[PAD] * 4),
                 helper.make_node("Relu", ["Z0"], ["R0"]), helper.make_node("Flatten", ["R0"], ["A0"], axis=1)]
    else:
        nodes = [helper.make_node("Gemm", ["X", "W0", "B0"], ["Z0"], transB=1), helper.make_node("Relu", ["Z0"], ["A0"])]
    current = "A0"
    for i, (w, b) in enumerate(layers.gemms, start=1):
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        last = i == len(layers.gemms)
        out = "Y" if last else f"Z{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"B{i}"], [out], transB=1))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"A{i}"]))
            current = f"A{i}"
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, *family.input_shape])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, family.outputs])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="certbound-planted")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
