"""Sliding-window attributes shared by Conv, AveragePool and MaxPool (ONNX defaults,
auto_pad resolved to explicit pads)."""

from __future__ import annotations

from dataclasses import dataclass

from core.model.onnx_node import OnnxNode, Unsupported


@dataclass(frozen=True)
class Window:
    """kernel, strides, dilations per spatial axis; pads as ONNX orders them (all begins,
    then all ends)."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[int, ...]
    dilations: tuple[int, ...]

    @property
    def torch_pad(self) -> tuple[int, ...]:
        """The same pads in torch.nn.functional.pad order (last axis first)."""
        n = len(self.kernel)
        return tuple(p for i in reversed(range(n)) for p in (self.pads[i], self.pads[n + i]))


def window(node: OnnxNode, kernel: tuple[int, ...], spatial: tuple[int, ...]) -> Window:
    """Read strides/pads/dilations/auto_pad of `node` for input spatial size `spatial`."""
    n = len(kernel)
    if len(spatial) != n:
        raise Unsupported(f"a {n}-D kernel needs {n} spatial axes, the input has {len(spatial)}")
    strides = tuple(node.attr("strides", [1] * n))
    dilations = tuple(node.attr("dilations", [1] * n))
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = tuple(node.attr("pads", [0] * 2 * n))
    elif auto_pad == "VALID":
        pads = (0,) * 2 * n
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        total = [max((-(-s // st) - 1) * st + (k - 1) * d + 1 - s, 0)
                 for s, st, k, d in zip(spatial, strides, kernel, dilations)]
        small = [t // 2 for t in total]
        big = [t - t // 2 for t in total]
        pads = tuple(small + big) if auto_pad == "SAME_UPPER" else tuple(big + small)
    else:
        raise Unsupported(f"auto_pad '{auto_pad}' is not an ONNX value")
    if len(strides) != n or len(dilations) != n or len(pads) != 2 * n or min(strides + dilations) < 1:
        raise Unsupported(f"inconsistent window attributes: strides {strides}, pads {pads}, "
                          f"dilations {dilations} for a {n}-D kernel")
    if min(pads) < 0:
        raise Unsupported(f"negative pads {pads}")
    return Window(tuple(kernel), strides, pads, dilations)
