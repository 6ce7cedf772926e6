"""L∞ robustness properties: an image, a radius ε and its label, as VNN-LIB.

The property says what VNN-COMP's mnist_fc and cifar properties say: every input within
ε of the image (in the valid pixel range) keeps the label's score strictly above every
other class's. VNN-LIB states the unsafe set, so the file asserts the box and
`(or (and (>= Y_j Y_label)) ...)` over the other classes j: a tie is unsafe too.

The box is rounded outward: each bound is the nearest float at or beyond the exact real
`pixel ± ε` (then clipped to the range), so an `unsat` covers the whole ball that was
asked about, never a float-rounded sliver less. Torch-free: the API writes these too.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from core.data import mnist_path


class RobustnessError(ValueError):
    """The image, ε, label or range cannot make a property; the message names which."""


def robustness_vnnlib(image: np.ndarray, eps: float, label: int, n_classes: int = 10,
                      valid_range: tuple[float, float] = (0.0, 1.0)) -> str:
    """VNN-LIB 1.0 text: inputs X_i within `eps` of `image` (flattened, C order) and inside
    `valid_range`; unsafe when some output Y_j, j ≠ `label`, is at least Y_label."""
    pixels = np.asarray(image, dtype=np.float64).reshape(-1)
    low, high = valid_range
    _check(pixels, eps, label, n_classes, low, high)
    lines = [f"; L-infinity robustness: eps {eps!r} around a {pixels.size}-pixel image, label {label}",
             f"; inputs clipped to [{low!r}, {high!r}]; unsafe: another class scores at least the label's"]
    lines += [f"(declare-const X_{i} Real)" for i in range(pixels.size)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_classes)]
    for i, pixel in enumerate(pixels.tolist()):
        lower = max(low, _rounded(Fraction(pixel) - Fraction(eps), down=True))
        upper = min(high, _rounded(Fraction(pixel) + Fraction(eps), down=False))
        lines += [f"(assert (>= X_{i} {lower!r}))", f"(assert (<= X_{i} {upper!r}))"]
    others = " ".join(f"(and (>= Y_{j} Y_{label}))" for j in range(n_classes) if j != label)
    lines.append(f"(assert (or {others}))")
    return "\n".join(lines) + "\n"


def _check(pixels: np.ndarray, eps: float, label: int, n_classes: int, low: float, high: float) -> None:
    if pixels.size == 0:
        raise RobustnessError("the image has no pixels")
    if not np.all(np.isfinite(pixels)):
        raise RobustnessError("the image has NaN or infinite pixels")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise RobustnessError(f"valid range [{low}, {high}] is not an interval of finite numbers")
    outside = np.flatnonzero((pixels < low) | (pixels > high))
    if outside.size:
        i = int(outside[0])
        raise RobustnessError(f"pixel {i} is {float(pixels[i])!r}, outside the valid range [{low!r}, {high!r}] "
                              f"({outside.size} pixel(s) are); scale the image to that range")
    if not (math.isfinite(eps) and eps > 0):
        raise RobustnessError(f"eps must be a positive finite number, not {eps!r}")
    if n_classes < 2:
        raise RobustnessError(f"a classifier needs at least 2 classes, not {n_classes}")
    if not 0 <= label < n_classes:
        raise RobustnessError(f"label {label} is not a class of 0..{n_classes - 1}")


def _rounded(value: Fraction, down: bool) -> float:
    """The float nearest `value` on the side asked for (never inside the exact interval)."""
    nearest = float(value)
    if down and Fraction(nearest) > value:
        return math.nextafter(nearest, -math.inf)
    if not down and Fraction(nearest) < value:
        return math.nextafter(nearest, math.inf)
    return nearest


def mnist_test_image(index: int, path: Path | None = None) -> tuple[np.ndarray, int]:
    """Test image `index` of MNIST (the configured copy, else the bundled subset) as 784
    pixels in [0, 1], and its label. `index` is the official test-set index: a subset
    says which images it holds (`i_test`), so an index means the same image in every copy."""
    path = Path(path) if path is not None else mnist_path()
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["x_test"], data["y_test"].reshape(-1)
            subset = "i_test" in data.files
            official = data["i_test"].reshape(-1) if subset else np.arange(len(labels))
    except (OSError, KeyError, ValueError) as exc:
        raise RobustnessError(f"{path}: not an MNIST .npz with x_test and y_test ({exc})") from None
    position = np.flatnonzero(official == index)
    if not position.size:
        where = (f"{path.name} holds {len(labels)} of the test images (set CERTBOUND_SHARED_DIR to a full copy "
                 f"for the others)" if subset else
                 f"{path.name} has {len(labels)} test images (0..{len(labels) - 1})")
        raise RobustnessError(f"MNIST test index {index} is not available: {where}")
    pixels = images[position[0]].astype(np.float64).reshape(-1)
    return (pixels / 255.0 if images.dtype == np.uint8 or pixels.max() > 1 else pixels), int(labels[position[0]])


def read_image(path: Path, to_unit: bool = True) -> np.ndarray:
    """Pixels from a .npy array or a text file of numbers (whitespace or commas), flattened
    in C order; with `to_unit`, 8-bit values (an uint8 array, or any value above 1) are
    scaled to [0, 1]."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            array = np.loadtxt(path, delimiter="," if "," in path.read_text()[:4096] else None, ndmin=1)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RobustnessError(f"{path}: not an image certbound reads (.npy, or numbers as text): {exc}") from None
    if not np.issubdtype(array.dtype, np.number):
        raise RobustnessError(f"{path}: holds {array.dtype} values, not numbers")
    pixels = array.astype(np.float64).reshape(-1)
    eight_bit = array.dtype == np.uint8 or (pixels.size and np.nanmax(pixels) > 1)
    return pixels / 255.0 if to_unit and eight_bit else pixels
